//! `/shield rules automod`: which of the server's rules Discord's own AutoMod enforces (blocked
//! before anyone sees them) and which stay bot-side (judged after they land, then deleted), with
//! the reason each could not be mirrored.
//!
//! Helpers need this to know what a raid can still show for a moment: a rule left bot-side is
//! not a broken rule, but its matches are visible until the bot deletes them. The report is the
//! mirror's last sync ([`AutoModSync::plan`]); when mirroring is off, or has not synced yet, it
//! is what the planner ([`shieldbot_core::automod::plan`]) would do with the rules in effect,
//! and says so. Patterns are shown behind spoilers, as in `/shield rules list`.
//!
//! [`AutoModSync::plan`]: crate::bot::automod_sync::AutoModSync::plan

use super::{reply, require_guild, Ctx, Error};
use shieldbot_core::automod::{self as planner, AutoModLimits, BotSide, MirrorPlan, MirrorPolicy};

/// Characters of bot-side entries per page: with the summary (at most ~300), the mirrored rules
/// (at most [`MIRRORED_CHARS`]) and the footer, a page stays within Discord's 2,000.
const ENTRIES_CHARS: usize = 1000;
/// Characters of the mirrored-rules line.
const MIRRORED_CHARS: usize = 500;
/// Longest pattern shown (the rest is cut with `…`).
const PATTERN_CHARS: usize = 40;

/// Where the report comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The mirror's last sync with Discord.
    Synced,
    /// Mirroring is on, but this server has not been synced yet (or the sync failed).
    NotSyncedYet,
    /// This server opted out (`[guild.automod] enabled = false`).
    OptedOut,
    /// Mirroring is off for the bot (`[automod] enabled = false`).
    Off,
}

impl Source {
    fn headline(self) -> &'static str {
        match self {
            Source::Synced => "on; as last synced with Discord",
            Source::NotSyncedYet => "on, not synced yet; what the next sync will do",
            Source::OptedOut => {
                "off for this server ([guild.automod] enabled = false); what it would do"
            }
            Source::Off => "off ([automod] enabled = false in the config); what it would do",
        }
    }
}

/// Rules mirrored, in plan order, each with how many of its patterns AutoMod carries.
pub fn mirrored_rules(plan: &MirrorPlan) -> Vec<(String, usize)> {
    let mut rules: Vec<(String, usize)> = Vec::new();
    for origin in plan.rules.iter().flat_map(|r| r.origins.iter()) {
        match rules.iter_mut().find(|(id, _)| *id == origin.rule_id) {
            Some((_, count)) => *count += 1,
            None => rules.push((origin.rule_id.clone(), 1)),
        }
    }
    rules
}

/// One bot-side entry: the rule, the pattern behind a spoiler, the reason.
pub fn describe_bot_side(entry: &BotSide) -> String {
    match &entry.pattern {
        Some(pattern) => {
            let mut shown: String = pattern.chars().take(PATTERN_CHARS).collect();
            if pattern.chars().count() > PATTERN_CHARS {
                shown.push('…');
            }
            format!(
                "`{}` (||{}||): {}",
                entry.rule_id,
                shown.replace('|', "¦"),
                entry.reason
            )
        }
        None => format!("`{}`: {}", entry.rule_id, entry.reason),
    }
}

/// Bot-side entries as lines, packed into pages of at most [`ENTRIES_CHARS`] (one entry at least).
fn paged_entries(plan: &MirrorPlan) -> Vec<Vec<String>> {
    let mut pages: Vec<Vec<String>> = vec![Vec::new()];
    let mut used = 0;
    for entry in &plan.bot_side {
        let line = format!("- {}\n", describe_bot_side(entry));
        let chars = line.chars().count();
        let current = pages.last().map_or(0, Vec::len);
        if current > 0 && used + chars > ENTRIES_CHARS {
            pages.push(Vec::new());
            used = 0;
        }
        used += chars;
        if let Some(page) = pages.last_mut() {
            page.push(line);
        }
    }
    pages
}

/// The reply: a summary, the mirrored rules (first page), then a page of bot-side entries.
pub fn render(source: Source, plan: &MirrorPlan, page: usize) -> Result<String, String> {
    let entries = paged_entries(plan);
    let pages = entries.len();
    if page == 0 || page > pages {
        return Err(format!(
            "There {} only {pages} page{} of bot-side rules.",
            if pages == 1 { "is" } else { "are" },
            if pages == 1 { "" } else { "s" }
        ));
    }
    let mirrored = mirrored_rules(plan);
    let mut out = format!(
        "**Discord AutoMod mirror**: {}\n{} rules mirrored as {} patterns in {} AutoMod rules (blocked before anyone sees them); {} rules or patterns stay bot-side (judged after they land, then deleted).\n",
        source.headline(),
        mirrored.len(),
        plan.mirrored_patterns(),
        plan.rules.len(),
        plan.bot_side.len(),
    );
    if page == 1 {
        if mirrored.is_empty() {
            out.push_str("**Mirrored:** none.\n");
        } else {
            let listed: Vec<String> = mirrored
                .iter()
                .map(|(id, count)| format!("`{id}` ({count})"))
                .collect();
            let mut line = format!("**Mirrored:** {}", listed.join(", "));
            if line.chars().count() > MIRRORED_CHARS {
                line = line.chars().take(MIRRORED_CHARS - 1).collect::<String>() + "…";
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    if plan.bot_side.is_empty() {
        out.push_str("**Bot-side:** none.");
        return Ok(out);
    }
    out.push_str(&format!("**Bot-side** (page {page} of {pages}):\n"));
    for line in &entries[page - 1] {
        out.push_str(line);
    }
    if page < pages {
        out.push_str(&format!("Next: `/shield rules automod page:{}`", page + 1));
    }
    Ok(out)
}

/// Which rules Discord's AutoMod enforces, and which stay bot-side and why.
#[poise::command(slash_command)]
pub async fn automod(
    ctx: Ctx<'_>,
    #[description = "Page of bot-side rules (1 = first)"] page: Option<u32>,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let sync = state.automod.as_ref();
    let synced = sync.and_then(|s| s.plan(guild.id));
    let (source, last) = match (sync, synced) {
        (Some(_), _) if guild.automod.enabled == Some(false) => (Source::OptedOut, None),
        (Some(_), Some(plan)) => (Source::Synced, Some(plan)),
        (Some(_), None) => (Source::NotSyncedYet, None),
        (None, _) => (Source::Off, None),
    };
    let plan = last.unwrap_or_else(|| {
        let policy = MirrorPolicy {
            min_severity: sync
                .map(|s| s.options().min_severity)
                .unwrap_or(MirrorPolicy::default().min_severity),
            ..MirrorPolicy::default()
        };
        let checker = state.checker(guild.id);
        planner::plan(checker.rules().rules(), &policy, &AutoModLimits::DISCORD)
    });
    let text = match render(source, &plan, page.unwrap_or(1) as usize) {
        Ok(text) | Err(text) => text,
    };
    reply(ctx, text).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use shieldbot_core::automod::{plan, BotSideReason};
    use shieldbot_core::rules::{Action, Rule};
    use shieldbot_core::{Category, Severity};

    fn rule(id: &str, category: Category, severity: Severity, keyword: &str) -> Rule {
        let mut rule = Rule::new(id, Some(category), Action::Quarantine);
        rule.severity = severity;
        rule.keywords.push(keyword.to_string());
        rule
    }

    #[test]
    fn mirrored_and_bot_side_rules_are_both_listed_with_reasons() {
        let rules = vec![
            rule("a.high", Category::Insult, Severity::HIGH, "zqxwv"),
            rule("b.low", Category::Insult, Severity::LOW, "vwxqz"),
            rule("c.wild", Category::Threat, Severity::HIGH, "ab*cd"),
        ];
        let plan = plan(&rules, &MirrorPolicy::default(), &AutoModLimits::DISCORD);
        let text = render(Source::Synced, &plan, 1).unwrap();
        assert!(text.contains("`a.high` (1)"), "{text}");
        assert!(text.contains("`b.low`"), "{text}");
        assert!(
            text.contains(
                &BotSideReason::BelowSeverity {
                    severity: Severity::LOW
                }
                .to_string()
            ),
            "{text}"
        );
        assert!(text.contains("||ab*cd||"), "{text}");
        assert!(text.contains("a wildcard to AutoMod"), "{text}");
        assert!(render(Source::Synced, &plan, 2).is_err());
    }

    #[test]
    fn long_reports_are_paged_within_discords_limit() {
        let rules: Vec<Rule> = (0..40)
            .map(|i| {
                rule(
                    &format!("low.{i}"),
                    Category::Insult,
                    Severity::LOW,
                    &format!("word{i}"),
                )
            })
            .collect();
        let plan = plan(&rules, &MirrorPolicy::default(), &AutoModLimits::DISCORD);
        let first = render(Source::Off, &plan, 1).unwrap();
        assert!(first.contains("page:2"), "{first}");
        let mut pages = Vec::new();
        while let Ok(text) = render(Source::Off, &plan, pages.len() + 1) {
            assert!(text.chars().count() <= 2000, "{text}");
            pages.push(text);
        }
        assert!(pages.len() > 1);
        let all = pages.join("\n");
        for i in 0..40 {
            assert_eq!(all.matches(&format!("`low.{i}`")).count(), 1, "low.{i}");
        }
        assert!(!pages.last().unwrap().contains("Next:"));
    }
}
