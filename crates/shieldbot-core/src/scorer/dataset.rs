//! Parsers for the labelled data formats the scorer learns from and is measured on.
//!
//! Pure: each takes a file's contents and returns rows, or an error naming the 1-based line.
//! The shell decides which files to read. Formats:
//! - OLID v1.0 TSV: `id  tweet  subtask_a  subtask_b  subtask_c` (header line; "NULL" when n/a);
//! - TweetEval: one text per line in one file, one 0/1 label per line in another;
//! - Davidson CSV: `,count,hate_speech,offensive_language,neither,class,tweet` (RFC 4180 quoting);
//! - the project corpus TSV: `label  category  severity  dodge  target  text` (label abuse/keep);
//! - plain labelled TSV for `eval`: `label<TAB>text`, label one of 1/0, abuse/keep,
//!   abusive/ok, offensive/not, OFF/NOT, true/false.

use crate::category::Category;

/// A malformed line in a data file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number in the file.
    pub line: usize,
    pub message: String,
}

fn error(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

/// OLID level C: whom a targeted offence aims at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OlidTarget {
    Individual,
    Group,
    Other,
}

/// One OLID row.
#[derive(Debug, Clone, PartialEq)]
pub struct OlidRow {
    pub text: String,
    /// Level A: OFF.
    pub offensive: bool,
    /// Level B: TIN (targeted) = Some(true), UNT = Some(false), NULL = None.
    pub targeted: Option<bool>,
    /// Level C, when targeted.
    pub target: Option<OlidTarget>,
}

/// Parses the OLID v1.0 TSV (with its header line).
pub fn parse_olid(content: &str) -> Result<Vec<OlidRow>, ParseError> {
    let mut rows = Vec::new();
    for (i, line) in content.lines().enumerate() {
        let n = i + 1;
        if i == 0 {
            if !line.trim_start_matches('\u{feff}').starts_with("id\t") {
                return Err(error(
                    n,
                    "expected the OLID header `id\\ttweet\\tsubtask_a\\t...`",
                ));
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 5 {
            return Err(error(
                n,
                format!("expected 5 tab-separated columns, found {}", cols.len()),
            ));
        }
        let offensive = match cols[2] {
            "OFF" => true,
            "NOT" => false,
            other => {
                return Err(error(
                    n,
                    format!("subtask_a must be OFF or NOT, not `{other}`"),
                ))
            }
        };
        let targeted = match cols[3] {
            "TIN" => Some(true),
            "UNT" => Some(false),
            "NULL" => None,
            other => {
                return Err(error(
                    n,
                    format!("subtask_b must be TIN, UNT or NULL, not `{other}`"),
                ))
            }
        };
        let target = match cols[4] {
            "IND" => Some(OlidTarget::Individual),
            "GRP" => Some(OlidTarget::Group),
            "OTH" => Some(OlidTarget::Other),
            "NULL" => None,
            other => {
                return Err(error(
                    n,
                    format!("subtask_c must be IND, GRP, OTH or NULL, not `{other}`"),
                ))
            }
        };
        rows.push(OlidRow {
            text: cols[1].to_string(),
            offensive,
            targeted,
            target,
        });
    }
    Ok(rows)
}

/// Parses a TweetEval text file and its label file (0 / 1 per line, same order).
pub fn parse_tweeteval(text: &str, labels: &str) -> Result<Vec<(String, bool)>, ParseError> {
    let texts: Vec<&str> = text.lines().collect();
    let labels: Vec<&str> = labels.lines().collect();
    let mut rows = Vec::with_capacity(texts.len());
    for (i, label) in labels.iter().enumerate() {
        let value = match label.trim() {
            "1" => true,
            "0" => false,
            "" if i + 1 == labels.len() => break,
            other => return Err(error(i + 1, format!("label must be 0 or 1, not `{other}`"))),
        };
        let Some(t) = texts.get(i) else {
            return Err(error(
                i + 1,
                "the label file has more lines than the text file",
            ));
        };
        rows.push((t.to_string(), value));
    }
    if texts.len() > rows.len() {
        return Err(error(
            rows.len() + 1,
            "the text file has more lines than the label file",
        ));
    }
    Ok(rows)
}

/// Davidson et al.'s majority class: 0 hate speech, 1 offensive language, 2 neither.
#[derive(Debug, Clone, PartialEq)]
pub struct DavidsonRow {
    pub text: String,
    pub class: u8,
}

/// Parses Davidson's labeled_data.csv.
pub fn parse_davidson(content: &str) -> Result<Vec<DavidsonRow>, ParseError> {
    let mut rows = Vec::new();
    for (index, record) in csv_records(content).enumerate() {
        let (line, fields) = record?;
        if index == 0 {
            if fields.last().map(String::as_str) != Some("tweet") {
                return Err(error(line, "expected Davidson's header ending in `tweet`"));
            }
            continue;
        }
        if fields.len() == 1 && fields[0].is_empty() {
            continue;
        }
        if fields.len() != 7 {
            return Err(error(
                line,
                format!("expected 7 fields, found {}", fields.len()),
            ));
        }
        let class = match fields[5].trim() {
            "0" => 0,
            "1" => 1,
            "2" => 2,
            other => {
                return Err(error(
                    line,
                    format!("class must be 0, 1 or 2, not `{other}`"),
                ))
            }
        };
        rows.push(DavidsonRow {
            text: fields[6].clone(),
            class,
        });
    }
    Ok(rows)
}

/// RFC 4180 records with the line each starts on.
fn csv_records(
    content: &str,
) -> impl Iterator<Item = Result<(usize, Vec<String>), ParseError>> + '_ {
    let mut chars = content.chars().peekable();
    let mut line = 1usize;
    std::iter::from_fn(move || {
        chars.peek()?;
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        loop {
            match chars.next() {
                None => {
                    if quoted {
                        return Some(Err(error(start, "unterminated quoted field")));
                    }
                    fields.push(std::mem::take(&mut field));
                    return Some(Ok((start, fields)));
                }
                Some('"') if quoted => {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                }
                Some('"') if field.is_empty() => quoted = true,
                Some(',') if !quoted => fields.push(std::mem::take(&mut field)),
                Some('\r') if !quoted => {}
                Some('\n') => {
                    line += 1;
                    if quoted {
                        field.push('\n');
                    } else {
                        fields.push(std::mem::take(&mut field));
                        return Some(Ok((start, fields)));
                    }
                }
                Some(c) => field.push(c),
            }
        }
    })
}

/// One row of the project's own corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusRow {
    /// `abuse` (true) or `keep` (false).
    pub abuse: bool,
    /// The abuse category (None for keep rows).
    pub category: Option<Category>,
    /// The raw `category` column: the category, or the keep-kind ("criticism", "idiom" ...).
    pub kind: String,
    pub severity: u8,
    pub dodge: String,
    pub target: String,
    pub text: String,
}

/// The corpus header line.
pub const CORPUS_HEADER: &str = "label\tcategory\tseverity\tdodge\ttarget\ttext";

/// Parses a corpus TSV (header line required).
pub fn parse_corpus(content: &str) -> Result<Vec<CorpusRow>, ParseError> {
    let mut rows = Vec::new();
    for (i, line) in content.lines().enumerate() {
        let n = i + 1;
        if i == 0 {
            if line.trim_start_matches('\u{feff}').trim_end() != CORPUS_HEADER {
                return Err(error(
                    n,
                    format!(
                        "expected the corpus header `{}`",
                        CORPUS_HEADER.replace('\t', "\\t")
                    ),
                ));
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.splitn(6, '\t').collect();
        if cols.len() != 6 {
            return Err(error(
                n,
                format!("expected 6 tab-separated columns, found {}", cols.len()),
            ));
        }
        let abuse = match cols[0].trim() {
            "abuse" => true,
            "keep" => false,
            other => {
                return Err(error(
                    n,
                    format!("label must be `abuse` or `keep`, not `{other}`"),
                ))
            }
        };
        let category = if abuse {
            Some(
                cols[1]
                    .trim()
                    .parse::<Category>()
                    .map_err(|e| error(n, e.to_string()))?,
            )
        } else {
            None
        };
        let severity = cols[2]
            .trim()
            .parse::<u8>()
            .map_err(|_| error(n, format!("severity must be a number, not `{}`", cols[2])))?;
        if cols[5].trim().is_empty() {
            return Err(error(n, "empty text"));
        }
        rows.push(CorpusRow {
            abuse,
            category,
            kind: cols[1].trim().to_string(),
            severity,
            dodge: cols[3].trim().to_string(),
            target: cols[4].trim().to_string(),
            text: cols[5].to_string(),
        });
    }
    Ok(rows)
}

/// One message of an evaluation file.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledMessage {
    pub abusive: bool,
    /// Known for corpus files.
    pub category: Option<Category>,
    /// The corpus `category` column (a category or a keep-kind such as "criticism"); empty
    /// for plain files.
    pub kind: String,
    pub text: String,
}

/// Parses an evaluation TSV: the corpus format (recognised by its header) or `label<TAB>text`
/// lines (an optional `label<TAB>text` header is skipped).
pub fn parse_labelled(content: &str) -> Result<Vec<LabelledMessage>, ParseError> {
    let first = content
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches('\u{feff}');
    if first.trim_end() == CORPUS_HEADER {
        return Ok(parse_corpus(content)?
            .into_iter()
            .map(|r| LabelledMessage {
                abusive: r.abuse,
                category: r.category,
                kind: r.kind,
                text: r.text,
            })
            .collect());
    }
    let mut rows = Vec::new();
    for (i, line) in content.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let Some((label, text)) = line.split_once('\t') else {
            return Err(error(n, "expected `label<TAB>text`"));
        };
        let label = label.trim().trim_start_matches('\u{feff}');
        if i == 0 && label.eq_ignore_ascii_case("label") {
            continue;
        }
        let abusive = parse_label(label).ok_or_else(|| {
            error(
                n,
                format!("unknown label `{label}` (use 1/0, abuse/keep, OFF/NOT, true/false)"),
            )
        })?;
        rows.push(LabelledMessage {
            abusive,
            category: None,
            kind: String::new(),
            text: text.to_string(),
        });
    }
    Ok(rows)
}

fn parse_label(label: &str) -> Option<bool> {
    match label.to_ascii_lowercase().as_str() {
        "1" | "abuse" | "abusive" | "offensive" | "off" | "true" | "yes" => Some(true),
        "0" | "keep" | "ok" | "not" | "not-offensive" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// A key that matches the same tweet across OLID (`@USER`, `URL`) and TweetEval (`@user`, URLs
/// removed) normalisations: lowercase ASCII letters and digits only.
pub fn match_key(text: &str) -> String {
    let lower = text.to_lowercase().replace("@user", "").replace("url", "");
    lower
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn olid_rows_and_errors() {
        let ok = "id\ttweet\tsubtask_a\tsubtask_b\tsubtask_c\n1\thello @USER\tNOT\tNULL\tNULL\n2\tbad\tOFF\tTIN\tIND\n";
        let rows = parse_olid(ok).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].target, Some(OlidTarget::Individual));
        let bad = "id\ttweet\tsubtask_a\tsubtask_b\tsubtask_c\n1\thello\tMAYBE\tNULL\tNULL\n";
        assert_eq!(parse_olid(bad).unwrap_err().line, 2);
    }

    #[test]
    fn tweeteval_pairs_and_mismatch() {
        assert_eq!(parse_tweeteval("a\nb\n", "0\n1\n").unwrap().len(), 2);
        assert_eq!(parse_tweeteval("a\nb\n", "0\nx\n").unwrap_err().line, 2);
        assert!(parse_tweeteval("a\nb\nc\n", "0\n1\n").is_err());
        assert!(parse_tweeteval("a\n", "0\n1\n").is_err());
    }

    #[test]
    fn davidson_csv_with_quotes_and_newlines() {
        let csv = ",count,hate_speech,offensive_language,neither,class,tweet\n0,3,0,0,3,2,\"a, \"\"quoted\"\"\nline\"\n1,3,0,3,0,1,plain\n";
        let rows = parse_davidson(csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].text, "a, \"quoted\"\nline");
        assert_eq!(rows[1].class, 1);
        let bad = ",count,hate_speech,offensive_language,neither,class,tweet\n0,3,0,0,3,9,x\n";
        assert_eq!(parse_davidson(bad).unwrap_err().line, 2);
    }

    #[test]
    fn corpus_rows_and_errors() {
        let ok = format!("{CORPUS_HEADER}\nabuse\tthreat\t2\tnone\tpolitician\tsome text\nkeep\tcriticism\t0\tnone\tjournalist\tother\n");
        let rows = parse_corpus(&ok).unwrap();
        assert_eq!(rows[0].category, Some(Category::Threat));
        assert_eq!(rows[1].kind, "criticism");
        let bad = format!("{CORPUS_HEADER}\nabuse\tthreat\t2\tnone\tpolitician\tx\nabuse\tnonsense\t1\tnone\tp\ty\n");
        assert_eq!(parse_corpus(&bad).unwrap_err().line, 3);
        assert_eq!(parse_corpus("wrong header\n").unwrap_err().line, 1);
    }

    #[test]
    fn labelled_tsv_formats() {
        let rows = parse_labelled("label\ttext\n1\tbad\nkeep\tgood\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].abusive && !rows[1].abusive);
        assert_eq!(parse_labelled("1\tok\nno tab here\n").unwrap_err().line, 2);
        assert_eq!(parse_labelled("1\tok\nperhaps\tx\n").unwrap_err().line, 2);
        let corpus = format!("{CORPUS_HEADER}\nabuse\tinsult\t1\tnone\tp\tx\n");
        assert_eq!(
            parse_labelled(&corpus).unwrap()[0].category,
            Some(Category::Insult)
        );
    }

    #[test]
    fn match_key_joins_olid_and_tweeteval_spellings() {
        assert_eq!(
            match_key("@USER @USER Go home you’re drunk!!! URL"),
            match_key("@user @user Go home you’re drunk!!! ")
        );
    }
}
