//! Finds the line of a key such as `guild[0].protected[1].aliases[2]` in the config text, so
//! validation errors (found after parsing) point at the line like parse errors do. When the key
//! itself is absent (a missing setting), the line of the nearest enclosing table is given.

/// The 1-based line of `key_path` (or of its nearest existing parent) in `text`.
pub fn line_of(text: &str, key_path: &str) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut item = doc.as_item();
    let mut best: Option<std::ops::Range<usize>> = None;
    for segment in segments(key_path) {
        let next = match segment {
            Segment::Key(key) => {
                let table = item.as_table_like()?;
                let Some((k, v)) = table.get_key_value(key) else {
                    break;
                };
                if let Some(span) = k.span() {
                    best = Some(span);
                }
                v
            }
            Segment::Index(i) => {
                let Some(v) = item.get(i) else {
                    break;
                };
                v
            }
        };
        if let Some(span) = next.span() {
            if !matches!(segment, Segment::Key(_)) || best.is_none() {
                best = Some(span);
            }
        } else if let Some(span) = next.as_table().and_then(|t| t.span()) {
            best = Some(span);
        }
        item = next;
    }
    let offset = best?.start;
    Some(text[..offset.min(text.len())].matches('\n').count() + 1)
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        if !name.is_empty() {
            out.push(Segment::Key(name));
        }
        for index in rest.split('[') {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                out.push(Segment::Index(i));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::line_of;

    const TEXT: &str = "[store]\npath = \"x\"\n\n[[guild]]\nid = 1\n\n[[guild.protected]]\nuser_id = 2\naliases = [\"a\", \"bb\"]\n\n[[guild]]\nid = 3\n";

    #[test]
    fn finds_keys_tables_and_array_elements() {
        assert_eq!(line_of(TEXT, "store.path"), Some(2));
        assert_eq!(line_of(TEXT, "guild[0].id"), Some(5));
        assert_eq!(line_of(TEXT, "guild[0].protected[0].user_id"), Some(8));
        assert_eq!(line_of(TEXT, "guild[0].protected[0].aliases[0]"), Some(9));
        assert_eq!(line_of(TEXT, "guild[1].id"), Some(12));
    }

    #[test]
    fn missing_key_points_at_its_table() {
        assert_eq!(line_of(TEXT, "guild[1].helpers_channel"), Some(11));
    }
}
