//! Reading the helpers' alerts and shield-up summaries the bot posted.

use std::collections::BTreeSet;

/// The item numbers one helpers' message reports: a single alert's (or a summary's evidence
/// block's) `**Credible threat** — item #N,` lines, and a summary's `Items: #a, #b` lines.
pub fn items_reported(text: &str) -> BTreeSet<u64> {
    let mut items = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line
            .split_once("**Credible threat** — item ")
            .map(|(_, r)| r)
        {
            let rest = rest.trim_start_matches('#');
            let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
            items.insert(number.parse().unwrap());
        } else if let Some(list) = line.strip_prefix("Items: ") {
            items.extend(
                list.split(", ")
                    .map(|n| n.trim_start_matches('#').parse::<u64>().unwrap()),
            );
        }
    }
    items
}
