//! `/shield stats`: how many messages were quarantined in a period, by category and by status.

use super::{reply, require_guild, Ctx, Error};
use crate::store::{QuarantineRecord, Status};
use shieldbot_core::Category;
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;

/// Counts of a period's records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    pub escalated: usize,
    pub by_category: BTreeMap<Category, usize>,
    pub by_status: BTreeMap<Status, usize>,
}

/// Count records by category and status.
pub fn count(records: &[QuarantineRecord]) -> Counts {
    let mut counts = Counts::default();
    for record in records {
        counts.total += 1;
        counts.escalated += usize::from(record.escalated());
        if let Some(category) = record.verdict.category() {
            *counts.by_category.entry(category).or_default() += 1;
        }
        *counts.by_status.entry(record.status).or_default() += 1;
    }
    counts
}

/// Counts by category and status for the last days.
#[poise::command(slash_command)]
pub async fn stats(
    ctx: Ctx<'_>,
    #[description = "How many days back (default 7)"] days: Option<u32>,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let store = &ctx.data().store;
    let days = days.unwrap_or(7).clamp(1, 3650);
    let now = store.clock().now_ms();
    let records: Vec<QuarantineRecord> = store
        .records_between(now - i64::from(days) * DAY_MS, now + 1)?
        .into_iter()
        .filter(|r| r.guild_id == guild.id)
        .collect();
    let counts = count(&records);
    let mut out = format!(
        "**Last {days} days**: {} quarantined ({} escalated)\nBy category:",
        counts.total, counts.escalated
    );
    for c in Category::ALL {
        if let Some(n) = counts.by_category.get(&c) {
            out.push_str(&format!(" {c} {n} ·"));
        }
    }
    out = out.trim_end_matches(" ·").to_string();
    if counts.by_category.is_empty() {
        out.push_str(" none");
    }
    out.push_str("\nBy status:");
    for s in Status::ALL {
        out.push_str(&format!(
            " {s} {} ·",
            counts.by_status.get(&s).copied().unwrap_or(0)
        ));
    }
    reply(ctx, out.trim_end_matches(" ·").to_string()).await
}
