//! A [`Digest`] as Discord messages: embeds that fit Discord's limits, paged over as many
//! messages as needed, each with buttons that open the review of an item or a campaign.
//!
//! Pure: digest in, plain [`DigestMessage`]s out (tested without Discord), converted to
//! serenity builders only at the edge ([`DigestMessage::to_create_message`]). Text is shown
//! exactly as the digest holds it (masked, hidden or raw per its audience), always behind
//! spoilers, so what the protected person reads is decided once, by the digest's audience.
//!
//! Discord's limits (checked by the tests): title 256, description 4096, 25 fields per embed,
//! field name 256 and value 1024, footer 2048, 6000 characters over all embeds of a message,
//! 10 embeds per message, 5 rows of 5 buttons, button label 80, custom id 100.

use poise::serenity_prelude as serenity;
use shieldbot_core::digest::{Digest, DigestEntry, ItemStatus, ShownText};

/// Discord's embed and component limits.
pub mod limits {
    pub const TITLE: usize = 256;
    pub const DESCRIPTION: usize = 4096;
    pub const FIELDS: usize = 25;
    pub const FIELD_NAME: usize = 256;
    pub const FIELD_VALUE: usize = 1024;
    pub const FOOTER: usize = 2048;
    /// Over every embed of one message.
    pub const TOTAL: usize = 6000;
    pub const EMBEDS_PER_MESSAGE: usize = 10;
    pub const BUTTONS_PER_ROW: usize = 5;
    pub const ROWS: usize = 5;
    pub const BUTTON_LABEL: usize = 80;
    pub const CUSTOM_ID: usize = 100;
}

/// At most this many messages per delivered digest; what does not fit is counted and pointed
/// to `/shield review`.
pub const MAX_MESSAGES: usize = 10;

/// Room kept per message for the page footer and titles when packing entries.
const PACKING_MARGIN: usize = 300;

/// One embed field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
}

/// One embed, as plain data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Embed {
    pub title: String,
    pub description: String,
    pub fields: Vec<Field>,
    pub footer: String,
}

impl Embed {
    /// Characters Discord counts towards the 6000 per message.
    pub fn chars(&self) -> usize {
        self.title.chars().count()
            + self.description.chars().count()
            + self.footer.chars().count()
            + self
                .fields
                .iter()
                .map(|f| f.name.chars().count() + f.value.chars().count())
                .sum::<usize>()
    }
}

/// A button that opens a review view (handled by `commands::digest::on_component`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenButton {
    /// `shield:open:<record id>`: one item's review, with release / confirm / timeout / ban.
    Item(u64),
    /// `shield:campaign:<first record id>`: the campaign the item belongs to.
    Campaign { first: u64, count: usize },
}

impl OpenButton {
    pub fn custom_id(self) -> String {
        match self {
            OpenButton::Item(id) => format!("shield:open:{id}"),
            OpenButton::Campaign { first, .. } => format!("shield:campaign:{first}"),
        }
    }

    pub fn label(self) -> String {
        match self {
            OpenButton::Item(id) => format!("Review #{id}"),
            OpenButton::Campaign { first, count } => format!("Campaign #{first} ({count})"),
        }
    }

    /// Parse a custom id made by [`OpenButton::custom_id`] (the count is not carried: 0).
    pub fn parse(custom_id: &str) -> Option<OpenButton> {
        let rest = custom_id.strip_prefix("shield:")?;
        let (kind, number) = rest.split_once(':')?;
        let id: u64 = number.parse().ok().filter(|n| *n > 0)?;
        match kind {
            "open" => Some(OpenButton::Item(id)),
            "campaign" => Some(OpenButton::Campaign {
                first: id,
                count: 0,
            }),
            _ => None,
        }
    }
}

/// One Discord message of a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestMessage {
    pub embeds: Vec<Embed>,
    pub buttons: Vec<OpenButton>,
}

impl DigestMessage {
    /// The serenity message: embeds, buttons in rows of five, pinging no one.
    pub fn to_create_message(&self) -> serenity::CreateMessage {
        serenity::CreateMessage::new()
            .embeds(self.create_embeds())
            .components(self.create_rows())
            .allowed_mentions(serenity::CreateAllowedMentions::new())
    }

    pub fn create_embeds(&self) -> Vec<serenity::CreateEmbed> {
        self.embeds
            .iter()
            .map(|e| {
                let mut embed = serenity::CreateEmbed::new()
                    .title(e.title.clone())
                    .colour(0x5865F2);
                if !e.description.is_empty() {
                    embed = embed.description(e.description.clone());
                }
                if !e.footer.is_empty() {
                    embed = embed.footer(serenity::CreateEmbedFooter::new(e.footer.clone()));
                }
                embed.fields(
                    e.fields
                        .iter()
                        .map(|f| (f.name.clone(), f.value.clone(), false)),
                )
            })
            .collect()
    }

    pub fn create_rows(&self) -> Vec<serenity::CreateActionRow> {
        self.buttons
            .chunks(limits::BUTTONS_PER_ROW)
            .take(limits::ROWS)
            .map(|row| {
                serenity::CreateActionRow::Buttons(
                    row.iter()
                        .map(|b| {
                            serenity::CreateButton::new(b.custom_id())
                                .label(cut(&b.label(), limits::BUTTON_LABEL))
                                .style(serenity::ButtonStyle::Secondary)
                        })
                        .collect(),
                )
            })
            .collect()
    }

    /// Every character of the message that a reader sees (for tests and audits).
    pub fn visible_text(&self) -> String {
        let mut s = String::new();
        for e in &self.embeds {
            s.push_str(&e.title);
            s.push('\n');
            s.push_str(&e.description);
            s.push('\n');
            for f in &e.fields {
                s.push_str(&f.name);
                s.push('\n');
                s.push_str(&f.value);
                s.push('\n');
            }
            s.push_str(&e.footer);
            s.push('\n');
        }
        s
    }
}

/// Extra lines for the summary: shield-up (pile-on defence) periods and actions in the period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    pub shield_notes: Vec<String>,
}

/// Render `digest` as messages headed `heading` ("Daily digest for Jane Doe").
pub fn render(digest: &Digest, heading: &str, extras: &Extras) -> Vec<DigestMessage> {
    let summary = summary_embed(digest, heading, extras);
    let fields: Vec<(Field, OpenButton)> = digest.entries.iter().map(entry_field).collect();

    let mut messages: Vec<DigestMessage> = Vec::new();
    let mut current = DigestMessage {
        embeds: vec![summary],
        buttons: Vec::new(),
    };
    let mut page = Embed {
        title: "Worst first".into(),
        ..Embed::default()
    };
    let mut rest = fields.into_iter().peekable();
    while let Some((field, button)) = rest.peek().cloned() {
        let used = current.embeds.iter().map(Embed::chars).sum::<usize>() + page.chars();
        let field_chars = field.name.chars().count() + field.value.chars().count();
        let fits = page.fields.len() < limits::FIELDS
            && current.buttons.len() < limits::BUTTONS_PER_ROW * limits::ROWS
            && used + field_chars + PACKING_MARGIN <= limits::TOTAL;
        if fits {
            page.fields.push(field);
            current.buttons.push(button);
            rest.next();
            continue;
        }
        if page.fields.is_empty() {
            // Cannot happen with fields of at most 1280 characters; skip rather than loop.
            rest.next();
            continue;
        }
        current.embeds.push(std::mem::take(&mut page));
        messages.push(std::mem::replace(
            &mut current,
            DigestMessage {
                embeds: Vec::new(),
                buttons: Vec::new(),
            },
        ));
        page.title = "Worst first (continued)".into();
        if messages.len() == MAX_MESSAGES {
            break;
        }
    }
    if !page.fields.is_empty() {
        current.embeds.push(page);
    }
    if !current.embeds.is_empty() {
        messages.push(current);
    }
    let left = rest.count();
    if left > 0 {
        if let Some(last) = messages.last_mut().and_then(|m| m.embeds.last_mut()) {
            last.description = format!(
                "… and {left} more entr{} not shown here: use `/shield review`.",
                if left == 1 { "y" } else { "ies" }
            );
        }
    }
    let pages = messages.len();
    for (i, m) in messages.iter_mut().enumerate() {
        if let Some(last) = m.embeds.last_mut() {
            last.footer = format!("shieldbot digest · page {} of {pages}", i + 1);
        }
    }
    messages
}

fn summary_embed(digest: &Digest, heading: &str, extras: &Extras) -> Embed {
    let mut description = format!(
        "{} message{} removed between {} and {}.\nEscalated: **{}**.",
        digest.total,
        if digest.total == 1 { "" } else { "s" },
        time(digest.period_start_ms),
        time(digest.period_end_ms),
        digest.escalations.len()
    );
    for note in &extras.shield_notes {
        description.push_str("\n🛡 ");
        description.push_str(note);
    }
    let mut fields: Vec<Field> = digest
        .counts
        .iter()
        .map(|c| Field {
            name: c.category.as_str().to_string(),
            value: format!(
                "{} (severity 1/2/3: {}/{}/{})",
                c.total, c.by_severity[0], c.by_severity[1], c.by_severity[2]
            ),
        })
        .collect();
    if !digest.top_authors.is_empty() {
        let lines: Vec<String> = digest
            .top_authors
            .iter()
            .map(|a| match &a.author_name {
                Some(name) => format!("<@{}> {} · {}", a.author_id, plain(name), a.count),
                None => format!("<@{}> · {}", a.author_id, a.count),
            })
            .collect();
        fields.push(Field {
            name: "Top authors".into(),
            value: cut(&lines.join("\n"), limits::FIELD_VALUE),
        });
    }
    if !digest.decisions.is_empty() {
        let lines: Vec<String> = digest
            .decisions
            .iter()
            .map(|d| {
                let status = match d.status {
                    ItemStatus::Released => "released",
                    ItemStatus::Confirmed => "confirmed",
                    ItemStatus::Held => "held",
                };
                format!("#{} {status} ({})", d.id, d.category)
            })
            .collect();
        fields.push(Field {
            name: "Decided since the last digest".into(),
            value: cut(&lines.join("\n"), limits::FIELD_VALUE),
        });
    }
    fields.truncate(limits::FIELDS);
    Embed {
        title: cut(heading, limits::TITLE),
        description: cut(&description, limits::DESCRIPTION),
        fields,
        footer: String::new(),
    }
}

fn entry_field(entry: &DigestEntry) -> (Field, OpenButton) {
    match entry {
        DigestEntry::Single {
            id,
            category,
            severity,
            escalated,
            author_id,
            author_name,
            account_age_days,
            sent_ms,
            text,
        } => {
            let flag = if *escalated { "ESCALATED · " } else { "" };
            let name = author_name
                .as_deref()
                .map(|n| format!(" {}", plain(n)))
                .unwrap_or_default();
            let value = format!(
                "by <@{author_id}>{name} (account {account_age_days} d) · {}{}",
                time(*sent_ms),
                shown(text)
            );
            (
                Field {
                    name: cut(
                        &format!("{flag}#{id} · {category} · severity {severity}"),
                        limits::FIELD_NAME,
                    ),
                    value: cut(&value, limits::FIELD_VALUE),
                },
                OpenButton::Item(*id),
            )
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
            let flag = if *escalated { "ESCALATED · " } else { "" };
            let first = ids.first().copied().unwrap_or_default();
            let value = format!(
                "{} to {} · account ages {}-{} d (median {}){}",
                time(*first_ms),
                time(*last_ms),
                account_ages.min,
                account_ages.max,
                account_ages.median,
                shown(text)
            );
            (
                Field {
                    name: cut(
                        &format!(
                            "{flag}Campaign: {count} messages from {accounts} accounts · {category} · severity {severity}"
                        ),
                        limits::FIELD_NAME,
                    ),
                    value: cut(&value, limits::FIELD_VALUE),
                },
                OpenButton::Campaign {
                    first,
                    count: *count,
                },
            )
        }
    }
}

/// Text as the audience may see it, always behind a spoiler.
fn shown(text: &ShownText) -> String {
    match text {
        ShownText::Hidden => String::new(),
        ShownText::Masked(t) | ShownText::Raw(t) => {
            // Room for the rest of the value; a spoiler must stay closed even when cut.
            let inner = cut(&plain(t), 700);
            format!("\n||{inner}||")
        }
    }
}

/// Text that cannot break out of a spoiler or an embed's markup, and pings nobody.
fn plain(text: &str) -> String {
    text.replace("||", "| |")
        .replace('`', "'")
        .replace("@everyone", "@\u{200b}everyone")
        .replace("@here", "@\u{200b}here")
}

/// A Discord timestamp (shown in the reader's own time zone).
fn time(ms: i64) -> String {
    format!("<t:{}:f>", ms.div_euclid(1000))
}

/// Cut to `max` characters, with an ellipsis when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use shieldbot_core::digest::{build, Audience, DigestItem, DigestOptions, Exposure};
    use shieldbot_core::{Category, Severity};

    fn item(id: u64, author: u64, text: &str) -> DigestItem {
        DigestItem {
            id,
            author_id: author,
            author_name: format!("user{author}"),
            account_age_days: (author % 50) as i64,
            sent_ms: 1_000_000 + id as i64 * 1000,
            content: text.to_string(),
            category: Category::Insult,
            severity: Severity::MEDIUM,
            escalated: id.is_multiple_of(17),
            status: ItemStatus::Held,
            decided_ms: None,
        }
    }

    /// Distinct texts (no two fold together), long enough to need paging.
    fn many(n: u64) -> Vec<DigestItem> {
        (1..=n)
            .map(|i| {
                let words: String = (0..20)
                    .map(|w| format!("w{}x{} ", i * 7919 + w, w * i))
                    .collect();
                item(i, i, &words)
            })
            .collect()
    }

    fn check_limits(messages: &[DigestMessage]) {
        assert!(messages.len() <= MAX_MESSAGES);
        for m in messages {
            assert!(m.embeds.len() <= limits::EMBEDS_PER_MESSAGE);
            assert!(m.embeds.iter().map(Embed::chars).sum::<usize>() <= limits::TOTAL);
            assert!(m.buttons.len() <= limits::BUTTONS_PER_ROW * limits::ROWS);
            for b in &m.buttons {
                assert!(b.custom_id().len() <= limits::CUSTOM_ID);
                assert!(b.label().chars().count() <= limits::BUTTON_LABEL);
            }
            for e in &m.embeds {
                assert!(e.title.chars().count() <= limits::TITLE);
                assert!(e.description.chars().count() <= limits::DESCRIPTION);
                assert!(e.footer.chars().count() <= limits::FOOTER);
                assert!(e.fields.len() <= limits::FIELDS);
                for f in &e.fields {
                    assert!(!f.name.is_empty() && f.name.chars().count() <= limits::FIELD_NAME);
                    assert!(!f.value.is_empty() && f.value.chars().count() <= limits::FIELD_VALUE);
                }
            }
        }
    }

    #[test]
    fn a_long_digest_pages_within_discord_limits_and_every_entry_has_a_button() {
        let items = many(60);
        let digest = build(
            0,
            10_000_000,
            &items,
            &[],
            &DigestOptions::for_audience(Audience::Helpers),
        );
        let messages = render(&digest, "Daily digest", &Extras::default());
        check_limits(&messages);
        assert!(messages.len() > 1, "60 long entries need several messages");
        let buttons: usize = messages.iter().map(|m| m.buttons.len()).sum();
        let fields: usize = messages
            .iter()
            .flat_map(|m| m.embeds.iter().skip_while(|e| e.title == "Daily digest"))
            .map(|e| e.fields.len())
            .sum();
        assert_eq!(buttons, fields, "one button per entry shown");
        assert_eq!(buttons, 60);
        let last = messages.last().unwrap().embeds.last().unwrap();
        assert_eq!(
            last.footer,
            format!(
                "shieldbot digest · page {} of {}",
                messages.len(),
                messages.len()
            )
        );
    }

    #[test]
    fn a_huge_digest_is_cut_at_ten_messages_and_says_how_many_are_left() {
        let items = many(600);
        let digest = build(
            0,
            10_000_000,
            &items,
            &[],
            &DigestOptions::for_audience(Audience::Helpers),
        );
        let messages = render(&digest, "Daily digest", &Extras::default());
        check_limits(&messages);
        assert_eq!(messages.len(), MAX_MESSAGES);
        let shown: usize = messages.iter().map(|m| m.buttons.len()).sum();
        let text = messages.last().unwrap().visible_text();
        assert!(
            text.contains(&format!("{} more entries", 600 - shown)),
            "{text}"
        );
    }

    #[test]
    fn masked_and_counts_digests_never_carry_the_raw_text() {
        let items: Vec<DigestItem> = (1..=5)
            .map(|i| {
                item(
                    i,
                    i,
                    &format!("Unmistakable sentence number{i} wording here"),
                )
            })
            .collect();
        for exposure in [Exposure::Masked, Exposure::Counts] {
            let digest = build(
                0,
                10_000_000,
                &items,
                &[],
                &DigestOptions::for_audience(Audience::Protected(exposure)),
            );
            let text: String = render(&digest, "Digest", &Extras::default())
                .iter()
                .map(DigestMessage::visible_text)
                .collect();
            for word in ["Unmistakable", "sentence", "wording"] {
                assert!(!text.contains(word), "{exposure:?}: {text}");
            }
        }
        let digest = build(
            0,
            10_000_000,
            &items,
            &[],
            &DigestOptions::for_audience(Audience::Helpers),
        );
        let text: String = render(&digest, "Digest", &Extras::default())
            .iter()
            .map(DigestMessage::visible_text)
            .collect();
        assert!(text.contains("||Unmistakable sentence number"), "{text}");
    }

    #[test]
    fn a_campaign_is_one_field_with_a_campaign_button() {
        let items: Vec<DigestItem> = (1..=300)
            .map(|i| item(i, 1000 + i, "everyone go tell her to quit today"))
            .collect();
        let digest = build(
            0,
            10_000_000,
            &items,
            &[],
            &DigestOptions::for_audience(Audience::Protected(Exposure::Masked)),
        );
        let messages = render(&digest, "Digest", &Extras::default());
        check_limits(&messages);
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].buttons.len(), 1);
        assert_eq!(messages[0].buttons[0].custom_id(), "shield:campaign:1");
        assert!(messages[0]
            .visible_text()
            .contains("300 messages from 300 accounts"));
    }

    #[test]
    fn button_ids_round_trip_and_others_are_not_ours() {
        assert_eq!(
            OpenButton::parse("shield:open:17"),
            Some(OpenButton::Item(17))
        );
        assert_eq!(
            OpenButton::parse(&OpenButton::Campaign { first: 4, count: 9 }.custom_id()),
            Some(OpenButton::Campaign { first: 4, count: 0 })
        );
        for other in [
            "shield:release:17",
            "shield:open:",
            "shield:open:0",
            "shield:open:x",
        ] {
            assert_eq!(OpenButton::parse(other), None, "{other}");
        }
    }

    #[test]
    fn spoilers_cannot_be_broken_out_of() {
        assert_eq!(shown(&ShownText::Raw("a || b".into())), "\n||a | | b||");
    }
}
