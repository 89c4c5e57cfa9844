//! Digest building: turns a period's quarantined items into what the protected person and their
//! helpers read. Pure: items in, digest out; the shell reads the store and delivers the result.
//!
//! What a digest holds, and why:
//! - **counts** by category and severity, so the person knows the scale without reading any of it;
//! - **entries worst first** (escalated, then severity, then the most serious category), with
//!   **campaigns folded**: near-identical messages from several accounts (a pile-on repeating one
//!   line) become one entry with a count, a time range and the accounts' age spread. Similarity is
//!   Jaccard over character 4-gram shingles of a normalised text, estimated with MinHash and
//!   found with LSH banding, so a 300-message raid costs about as much as 300 single items;
//! - **top authors**; **decisions** (released / confirmed) since the last digest;
//! - text shown per [`Exposure`]: the person sees masked previews or numbers only, helpers raw.

use crate::category::{Category, Severity};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How much of the abuse the protected person is shown. Helpers always see raw text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Exposure {
    /// Category and a few masked words, text behind spoilers.
    #[default]
    Masked,
    /// Numbers only: no text at all.
    Counts,
    /// The raw text (the person chose to see it).
    Raw,
}

/// Review state of an item, as the digest needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    Held,
    Released,
    Confirmed,
}

/// One quarantined item, as plain data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestItem {
    /// The store's record id.
    pub id: u64,
    pub author_id: u64,
    pub author_name: String,
    /// Account age when the message was sent, whole days.
    pub account_age_days: i64,
    /// When it was posted (Unix ms).
    pub sent_ms: i64,
    pub content: String,
    pub category: Category,
    pub severity: Severity,
    pub escalated: bool,
    pub status: ItemStatus,
    /// When a helper decided (Unix ms).
    pub decided_ms: Option<i64>,
}

/// Who the digest is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// The protected person: text per their [`Exposure`].
    Protected(Exposure),
    /// Helpers: raw text.
    Helpers,
}

impl Audience {
    fn exposure(self) -> Exposure {
        match self {
            Audience::Protected(e) => e,
            Audience::Helpers => Exposure::Raw,
        }
    }
}

/// Knobs of digest building.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestOptions {
    pub audience: Audience,
    /// A cluster is a campaign when it spans at least this many distinct accounts.
    pub campaign_min_accounts: usize,
    /// Estimated Jaccard similarity (0..1) at which two messages are "near-identical".
    pub similarity: f64,
    /// How many top authors to list.
    pub top_authors: usize,
    /// Words shown (masked) in a masked preview.
    pub preview_words: usize,
}

impl DigestOptions {
    pub fn for_audience(audience: Audience) -> DigestOptions {
        DigestOptions {
            audience,
            campaign_min_accounts: 3,
            similarity: 0.5,
            top_authors: 5,
            preview_words: 4,
        }
    }
}

/// Text as shown to the audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "shown", content = "text", rename_all = "lowercase")]
pub enum ShownText {
    /// Nothing (exposure `counts`).
    Hidden,
    /// A masked preview: a few words, letters after the first replaced (put it behind a spoiler).
    Masked(String),
    /// The text as written.
    Raw(String),
}

impl ShownText {
    fn new(text: &str, exposure: Exposure, preview_words: usize) -> ShownText {
        match exposure {
            Exposure::Counts => ShownText::Hidden,
            Exposure::Raw => ShownText::Raw(text.to_string()),
            Exposure::Masked => ShownText::Masked(mask(text, preview_words)),
        }
    }
}

/// Counts for one category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCount {
    pub category: Category,
    pub total: usize,
    /// Items of severity 1, 2, 3.
    pub by_severity: [usize; 3],
}

/// The spread of account ages in a campaign (days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeSpread {
    pub min: i64,
    pub median: i64,
    pub max: i64,
}

/// One line of the digest: a single item or a folded campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DigestEntry {
    Single {
        id: u64,
        category: Category,
        severity: Severity,
        escalated: bool,
        author_id: u64,
        /// `None` when exposure is `counts` (names can be abuse too).
        author_name: Option<String>,
        account_age_days: i64,
        sent_ms: i64,
        text: ShownText,
    },
    Campaign {
        /// Every item folded in, oldest first (for a review button).
        ids: Vec<u64>,
        count: usize,
        /// Distinct accounts.
        accounts: usize,
        /// The most serious category / severity in the campaign.
        category: Category,
        severity: Severity,
        escalated: bool,
        first_ms: i64,
        last_ms: i64,
        account_ages: AgeSpread,
        /// A representative message.
        text: ShownText,
    },
}

impl DigestEntry {
    fn rank_key(&self) -> (bool, Severity, usize, usize, i64) {
        match self {
            DigestEntry::Single {
                escalated,
                severity,
                category,
                sent_ms,
                ..
            } => (*escalated, *severity, rank_of(*category), 1, -*sent_ms),
            DigestEntry::Campaign {
                escalated,
                severity,
                category,
                count,
                first_ms,
                ..
            } => (
                *escalated,
                *severity,
                rank_of(*category),
                *count,
                -*first_ms,
            ),
        }
    }

    /// True for escalated items or campaigns.
    pub fn escalated(&self) -> bool {
        match self {
            DigestEntry::Single { escalated, .. } | DigestEntry::Campaign { escalated, .. } => {
                *escalated
            }
        }
    }
}

/// Seriousness rank of a category: higher is worse (from [`Category::ALL`]'s order).
fn rank_of(category: Category) -> usize {
    Category::ALL.len()
        - Category::ALL
            .iter()
            .position(|c| *c == category)
            .unwrap_or(Category::ALL.len())
}

/// An author and how many of the period's items are theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorCount {
    pub author_id: u64,
    pub author_name: Option<String>,
    pub count: usize,
}

/// A review decision since the last digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub id: u64,
    pub status: ItemStatus,
    pub category: Category,
    pub decided_ms: Option<i64>,
}

/// The digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    pub period_start_ms: i64,
    pub period_end_ms: i64,
    pub audience: Audience,
    /// Items in the period.
    pub total: usize,
    /// Per category, most serious category first; categories with no items are left out.
    pub counts: Vec<CategoryCount>,
    /// Escalated entries, worst first (also present in `entries`).
    pub escalations: Vec<DigestEntry>,
    /// Every entry (campaigns folded), worst first.
    pub entries: Vec<DigestEntry>,
    pub top_authors: Vec<AuthorCount>,
    /// Released / confirmed since the last digest.
    pub decisions: Vec<Decision>,
}

/// Build a digest for `[period_start_ms, period_end_ms)`. `items` are those quarantined in the
/// period; `decisions` are items decided since the last digest (any quarantine time).
pub fn build(
    period_start_ms: i64,
    period_end_ms: i64,
    items: &[DigestItem],
    decisions: &[DigestItem],
    options: &DigestOptions,
) -> Digest {
    let exposure = options.audience.exposure();

    let mut counts: BTreeMap<Category, CategoryCount> = BTreeMap::new();
    for item in items {
        let c = counts.entry(item.category).or_insert(CategoryCount {
            category: item.category,
            total: 0,
            by_severity: [0; 3],
        });
        c.total += 1;
        c.by_severity[usize::from(item.severity.get() - 1).min(2)] += 1;
    }
    let counts: Vec<CategoryCount> = Category::ALL
        .iter()
        .filter_map(|c| counts.remove(c))
        .collect();

    let mut entries: Vec<DigestEntry> = Vec::new();
    for cluster in clusters(items, options.similarity) {
        let accounts: BTreeSet<u64> = cluster.iter().map(|&i| items[i].author_id).collect();
        if cluster.len() >= 2 && accounts.len() >= options.campaign_min_accounts {
            entries.push(campaign(items, &cluster, accounts.len(), exposure, options));
        } else {
            for &i in &cluster {
                entries.push(single(&items[i], exposure, options));
            }
        }
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.rank_key()));
    let escalations = entries.iter().filter(|e| e.escalated()).cloned().collect();

    let mut by_author: HashMap<u64, (usize, &str)> = HashMap::new();
    for item in items {
        let e = by_author
            .entry(item.author_id)
            .or_insert((0, &item.author_name));
        e.0 += 1;
    }
    let mut top_authors: Vec<AuthorCount> = by_author
        .into_iter()
        .map(|(author_id, (count, name))| AuthorCount {
            author_id,
            author_name: (exposure != Exposure::Counts).then(|| name.to_string()),
            count,
        })
        .collect();
    top_authors.sort_by(|a, b| b.count.cmp(&a.count).then(a.author_id.cmp(&b.author_id)));
    top_authors.truncate(options.top_authors);

    let mut decisions: Vec<Decision> = decisions
        .iter()
        .filter(|d| d.status != ItemStatus::Held)
        .map(|d| Decision {
            id: d.id,
            status: d.status,
            category: d.category,
            decided_ms: d.decided_ms,
        })
        .collect();
    decisions.sort_by_key(|d| (d.decided_ms, d.id));

    Digest {
        period_start_ms,
        period_end_ms,
        audience: options.audience,
        total: items.len(),
        counts,
        escalations,
        entries,
        top_authors,
        decisions,
    }
}

fn single(item: &DigestItem, exposure: Exposure, options: &DigestOptions) -> DigestEntry {
    DigestEntry::Single {
        id: item.id,
        category: item.category,
        severity: item.severity,
        escalated: item.escalated,
        author_id: item.author_id,
        author_name: (exposure != Exposure::Counts).then(|| item.author_name.clone()),
        account_age_days: item.account_age_days,
        sent_ms: item.sent_ms,
        text: ShownText::new(&item.content, exposure, options.preview_words),
    }
}

fn campaign(
    items: &[DigestItem],
    cluster: &[usize],
    accounts: usize,
    exposure: Exposure,
    options: &DigestOptions,
) -> DigestEntry {
    let members: Vec<&DigestItem> = cluster.iter().map(|&i| &items[i]).collect();
    let worst = members
        .iter()
        .max_by_key(|m| (m.escalated, m.severity, rank_of(m.category)))
        .copied()
        .unwrap_or(members[0]);
    let mut ages: Vec<i64> = members.iter().map(|m| m.account_age_days).collect();
    ages.sort_unstable();
    let mut ids: Vec<(i64, u64)> = members.iter().map(|m| (m.sent_ms, m.id)).collect();
    ids.sort_unstable();
    DigestEntry::Campaign {
        ids: ids.iter().map(|(_, id)| *id).collect(),
        count: members.len(),
        accounts,
        category: worst.category,
        severity: worst.severity,
        escalated: members.iter().any(|m| m.escalated),
        first_ms: ids.first().map(|(t, _)| *t).unwrap_or_default(),
        last_ms: ids.last().map(|(t, _)| *t).unwrap_or_default(),
        account_ages: AgeSpread {
            min: ages[0],
            median: ages[ages.len() / 2],
            max: ages[ages.len() - 1],
        },
        text: ShownText::new(
            &representative(&members).content,
            exposure,
            options.preview_words,
        ),
    }
}

/// The most common normalised text of a cluster, earliest instance.
fn representative<'a>(members: &[&'a DigestItem]) -> &'a DigestItem {
    let mut freq: HashMap<String, usize> = HashMap::new();
    for m in members {
        *freq
            .entry(normalise_for_similarity(&m.content))
            .or_default() += 1;
    }
    members
        .iter()
        .max_by_key(|m| (freq[&normalise_for_similarity(&m.content)], -m.sent_ms))
        .copied()
        .unwrap_or(members[0])
}

/// A masked preview: the first `words` words (mentions and links skipped), each reduced to its
/// first character and bullets. Words shorter than three characters are fully masked, so
/// spaced-out evasions ("d i e") do not leak letter by letter.
pub fn mask(text: &str, words: usize) -> String {
    let all: Vec<&str> = text
        .split_whitespace()
        .filter(|w| !is_mention_or_link(w))
        .collect();
    let mut out: Vec<String> = all
        .iter()
        .take(words)
        .map(|w| {
            let len = w.chars().count();
            match w.chars().next() {
                Some(first) if len >= 3 => format!("{first}{}", "•".repeat(len - 1)),
                _ => "•".repeat(len),
            }
        })
        .collect();
    if all.len() > words {
        out.push("…".into());
    }
    out.join(" ")
}

fn is_mention_or_link(word: &str) -> bool {
    word.starts_with("http://")
        || word.starts_with("https://")
        || (word.starts_with("<@") && word.ends_with('>'))
        || (word.starts_with("<#") && word.ends_with('>'))
}

// ----- near-duplicate clustering ------------------------------------------------------------

const SIGNATURE: usize = 64;
const BANDS: usize = 16;
const ROWS: usize = SIGNATURE / BANDS;
const SHINGLE: usize = 4;

/// Lowercase letters and digits, mentions and URLs dropped, runs of anything else as one space.
pub fn normalise_for_similarity(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if is_mention_or_link(word) {
            continue;
        }
        let mut pushed_space = out.is_empty();
        for c in word.chars().flat_map(char::to_lowercase) {
            if c.is_alphanumeric() {
                out.push(c);
                pushed_space = false;
            } else if !pushed_space {
                out.push(' ');
                pushed_space = true;
            }
        }
        if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

fn shingles(normalised: &str) -> BTreeSet<u64> {
    let chars: Vec<char> = normalised.chars().collect();
    if chars.len() <= SHINGLE {
        return BTreeSet::from([fnv(normalised.as_bytes())]);
    }
    chars
        .windows(SHINGLE)
        .map(|w| fnv(w.iter().collect::<String>().as_bytes()))
        .collect()
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser: turns one hash into many independent-looking ones.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn minhash(set: &BTreeSet<u64>) -> [u64; SIGNATURE] {
    let mut sig = [u64::MAX; SIGNATURE];
    for &s in set {
        for (k, slot) in sig.iter_mut().enumerate() {
            let h = mix(s ^ mix(k as u64 + 1));
            if h < *slot {
                *slot = h;
            }
        }
    }
    sig
}

fn estimated_jaccard(a: &[u64; SIGNATURE], b: &[u64; SIGNATURE]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / SIGNATURE as f64
}

/// Groups of near-identical items (indices into `items`), each group in input order, groups
/// ordered by their first member. Singletons are groups of one.
pub fn clusters(items: &[DigestItem], similarity: f64) -> Vec<Vec<usize>> {
    let signatures: Vec<[u64; SIGNATURE]> = items
        .iter()
        .map(|i| minhash(&shingles(&normalise_for_similarity(&i.content))))
        .collect();
    let mut parent: Vec<usize> = (0..items.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for band in 0..BANDS {
        let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, sig) in signatures.iter().enumerate() {
            let key = sig[band * ROWS..(band + 1) * ROWS]
                .iter()
                .fold(band as u64, |h, v| mix(h ^ v));
            buckets.entry(key).or_default().push(i);
        }
        for members in buckets.values() {
            let first = members[0];
            for &other in &members[1..] {
                let (ra, rb) = (find(&mut parent, first), find(&mut parent, other));
                if ra != rb
                    && estimated_jaccard(&signatures[first], &signatures[other]) >= similarity
                {
                    parent[rb.max(ra)] = rb.min(ra);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..items.len() {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = groups.into_values().collect();
    out.sort_by_key(|g| g[0]);
    out
}

// ----- plain-text rendering ---------------------------------------------------------------------

impl Digest {
    /// A plain-text rendering (the CLI prints it; Discord embeds are built by the shell).
    pub fn to_text(&self, format_time: &dyn Fn(i64) -> String) -> String {
        let mut s = format!(
            "Digest {} to {}: {} item{} removed\n",
            format_time(self.period_start_ms),
            format_time(self.period_end_ms),
            self.total,
            if self.total == 1 { "" } else { "s" }
        );
        if !self.counts.is_empty() {
            s.push_str("\nBy category (severity 1/2/3):\n");
            for c in &self.counts {
                s.push_str(&format!(
                    "  {:<10} {:>5}   ({}/{}/{})\n",
                    c.category.as_str(),
                    c.total,
                    c.by_severity[0],
                    c.by_severity[1],
                    c.by_severity[2]
                ));
            }
        }
        s.push_str(&format!("\nEscalated: {}\n", self.escalations.len()));
        if !self.entries.is_empty() {
            s.push_str("\nWorst first:\n");
            for e in &self.entries {
                s.push_str(&format!("  {}\n", entry_line(e, format_time)));
            }
        }
        if !self.top_authors.is_empty() {
            s.push_str("\nTop authors:\n");
            for a in &self.top_authors {
                let name = a
                    .author_name
                    .as_deref()
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default();
                s.push_str(&format!("  {}{} ({})\n", a.author_id, name, a.count));
            }
        }
        if !self.decisions.is_empty() {
            s.push_str("\nDecided since the last digest:\n");
            for d in &self.decisions {
                let status = match d.status {
                    ItemStatus::Released => "released",
                    ItemStatus::Confirmed => "confirmed",
                    ItemStatus::Held => "held",
                };
                s.push_str(&format!("  #{} {} ({})\n", d.id, status, d.category));
            }
        }
        s
    }
}

fn shown(text: &ShownText) -> String {
    match text {
        ShownText::Hidden => String::new(),
        ShownText::Masked(t) => format!(": ||{t}||"),
        ShownText::Raw(t) => format!(": \"{t}\""),
    }
}

fn entry_line(e: &DigestEntry, format_time: &dyn Fn(i64) -> String) -> String {
    match e {
        DigestEntry::Single {
            id,
            category,
            severity,
            escalated,
            author_id,
            author_name,
            account_age_days,
            text,
            ..
        } => {
            let flag = if *escalated { "ESCALATED " } else { "" };
            let name = author_name
                .as_deref()
                .map(|n| format!("{n} "))
                .unwrap_or_default();
            format!("{flag}#{id} {category} sev {severity} by {name}({author_id}, account {account_age_days} d){}", shown(text))
        }
        DigestEntry::Campaign {
            ids,
            count,
            accounts,
            category,
            severity,
            escalated,
            first_ms,
            last_ms,
            account_ages,
            text,
        } => {
            let flag = if *escalated { "ESCALATED " } else { "" };
            let first = ids
                .first()
                .map(|i| format!(" from #{i}"))
                .unwrap_or_default();
            format!(
                "{flag}CAMPAIGN {count} messages from {accounts} accounts{first}, {category} sev {severity}, {} to {}, account ages {}-{} d (median {}){}",
                format_time(*first_ms),
                format_time(*last_ms),
                account_ages.min,
                account_ages.max,
                account_ages.median,
                shown(text)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_ignores_case_punctuation_mentions_and_links() {
        assert_eq!(
            normalise_for_similarity("<@123> Go HOME, now!!! https://x.example/y"),
            "go home now"
        );
    }

    #[test]
    fn mask_keeps_first_letters_only() {
        assert_eq!(
            mask("alpha beta gamma delta epsilon", 3),
            "a•••• b••• g•••• …"
        );
        assert_eq!(mask("<@123> hi there https://x.example", 3), "•• t••••");
        assert_eq!(mask("d i e", 3), "• • •");
    }

    fn item(id: u64, author: u64, text: &str) -> DigestItem {
        DigestItem {
            id,
            author_id: author,
            author_name: format!("a{author}"),
            account_age_days: author as i64,
            sent_ms: id as i64 * 1000,
            content: text.to_string(),
            category: Category::Insult,
            severity: Severity::MEDIUM,
            escalated: false,
            status: ItemStatus::Held,
            decided_ms: None,
        }
    }

    fn helpers() -> DigestOptions {
        DigestOptions::for_audience(Audience::Helpers)
    }

    #[test]
    fn different_messages_sharing_words_stay_apart() {
        let items = [
            item(1, 1, "the pension scheme is a disgrace and so are you"),
            item(2, 2, "your speech on the pension scheme was a disgrace"),
            item(3, 3, "nobody voted for this, resign"),
            item(4, 4, "what about the hospital funding you promised"),
        ];
        let d = build(0, 10_000, &items, &[], &helpers());
        assert_eq!(d.entries.len(), 4);
        assert!(d
            .entries
            .iter()
            .all(|e| matches!(e, DigestEntry::Single { .. })));
    }

    #[test]
    fn repeats_by_too_few_accounts_are_not_a_campaign() {
        let items: Vec<DigestItem> = (0..6)
            .map(|i| item(i, 1 + i % 2, "the same line again and again"))
            .collect();
        let d = build(0, 10_000, &items, &[], &helpers());
        assert_eq!(
            d.entries.len(),
            6,
            "two accounts repeating is not a pile-on"
        );
        let items: Vec<DigestItem> = (0..6)
            .map(|i| item(i, 1 + i % 3, "the same line again and again"))
            .collect();
        let d = build(0, 10_000, &items, &[], &helpers());
        assert_eq!(d.entries.len(), 1);
        assert!(matches!(
            &d.entries[0],
            DigestEntry::Campaign {
                count: 6,
                accounts: 3,
                account_ages: AgeSpread {
                    min: 1,
                    median: 2,
                    max: 3
                },
                ..
            }
        ));
    }

    #[test]
    fn an_escalated_member_makes_the_campaign_escalated_and_first() {
        let mut items: Vec<DigestItem> = (0..5)
            .map(|i| item(i, 10 + i, "same words from a raid here"))
            .collect();
        items[3].escalated = true;
        items[3].category = Category::Threat;
        items[3].severity = Severity::HIGH;
        items.push(item(9, 99, "an unrelated rude remark"));
        let d = build(0, 10_000, &items, &[], &helpers());
        assert!(matches!(
            &d.entries[0],
            DigestEntry::Campaign {
                escalated: true,
                category: Category::Threat,
                count: 5,
                ..
            }
        ));
        assert_eq!(d.escalations.len(), 1);
    }

    #[test]
    fn rank_puts_threat_above_profanity() {
        assert!(rank_of(Category::Threat) > rank_of(Category::Profanity));
    }
}
