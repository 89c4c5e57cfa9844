//! `/shield rules`: add, allow, remove, list, test and backtest rules (and `automod`, in
//! [`super::automod`]: which of them Discord's AutoMod enforces).
//!
//! A new rule is checked before anything is stored: it must validate as a rule pack rule (a regex
//! must compile within the size limits, a keyword must have letters or digits), the filter must
//! still build with it, and it must not match more than [`MAX_ORDINARY_SHARE`] of the shipped
//! sample of ordinary messages (a rule that matches almost everything would silence the server).

use super::live::{Field, GuildSettings};
use super::{reply, require_guild, Ctx, Error};
use poise::serenity_prelude as serenity;
use shieldbot_core::access::{self, Permission};
use shieldbot_core::backtest::{self, PastMessage};
use shieldbot_core::check::Checker;
use shieldbot_core::policy::Context;
use shieldbot_core::rules::{Action, CompiledRules, Rule, RulePack};
use shieldbot_core::{Category, Severity, Verdict};

/// Largest share of ordinary messages a new rule may match.
pub const MAX_ORDINARY_SHARE: f64 = 0.05;
/// Rules shown per page of `/shield rules list`.
const RULES_PER_PAGE: usize = 10;
const DAY_MS: i64 = 86_400_000;

/// How the pattern is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum PatternKind {
    #[name = "keyword"]
    Keyword,
    #[name = "phrase"]
    Phrase,
    #[name = "regex"]
    Regex,
}

/// The abuse categories, as a command choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum CategoryChoice {
    #[name = "threat"]
    Threat,
    #[name = "sexual"]
    Sexual,
    #[name = "identity"]
    Identity,
    #[name = "insult"]
    Insult,
    #[name = "selfharm"]
    SelfHarm,
    #[name = "doxxing"]
    Doxxing,
    #[name = "profanity"]
    Profanity,
}

impl From<CategoryChoice> for Category {
    fn from(c: CategoryChoice) -> Category {
        match c {
            CategoryChoice::Threat => Category::Threat,
            CategoryChoice::Sexual => Category::Sexual,
            CategoryChoice::Identity => Category::Identity,
            CategoryChoice::Insult => Category::Insult,
            CategoryChoice::SelfHarm => Category::SelfHarm,
            CategoryChoice::Doxxing => Category::Doxxing,
            CategoryChoice::Profanity => Category::Profanity,
        }
    }
}

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum RuleAction {
    #[name = "quarantine"]
    Quarantine,
    #[name = "escalate"]
    Escalate,
}

/// A rule as a command describes it, before it has an id.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub kind: PatternKind,
    pub pattern: String,
    pub category: Option<Category>,
    pub severity: u8,
    pub action: Action,
}

/// Turn a draft into a validated rule with id `id`, or say plainly what is wrong.
pub fn build_rule(id: &str, draft: &Draft) -> Result<Rule, String> {
    let pattern = draft.pattern.trim();
    let what = match draft.kind {
        PatternKind::Keyword => "keyword",
        PatternKind::Phrase => "phrase",
        PatternKind::Regex => "regex",
    };
    if pattern.is_empty() {
        return Err(format!(
            "The {what} is empty: give the text to match. Nothing was stored."
        ));
    }
    if draft.kind == PatternKind::Keyword && pattern.split_whitespace().count() > 1 {
        return Err(
            "A keyword is a single word; use kind `phrase` for several words. Nothing was stored."
                .into(),
        );
    }
    let Some(severity) = Severity::new(draft.severity) else {
        return Err(format!(
            "Severity must be 1 (low), 2 (medium) or 3 (high), not {}. Nothing was stored.",
            draft.severity
        ));
    };
    let mut rule = Rule::new(id, draft.category, draft.action);
    rule.severity = severity;
    match draft.kind {
        PatternKind::Keyword => rule.keywords.push(pattern.to_string()),
        PatternKind::Phrase => rule.phrases.push(pattern.to_string()),
        PatternKind::Regex => rule.regexes.push(pattern.to_string()),
    }
    RulePack::from_rules("your rule", vec![rule.clone()]).map_err(|e| {
        format!(
            "That rule cannot be used: {}. Nothing was stored.",
            e.problem
        )
    })?;
    Ok(rule)
}

/// The next free id for a rule added by command: `cmd-1`, `cmd-2` ...
pub fn next_rule_id(settings: &GuildSettings) -> String {
    let highest = settings
        .rules
        .iter()
        .filter_map(|r| r.id.strip_prefix("cmd-")?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    format!("cmd-{}", highest + 1)
}

/// Refuse a rule that matches too many ordinary messages: a removing rule would hold ordinary
/// talk (measured under `checker`, with its allow rules), an allow rule would shield abuse that
/// shares its words (measured alone, as if it removed).
pub fn breadth_refusal(checker: &Checker, rule: &Rule, ordinary: &[String]) -> Option<String> {
    let samples: Vec<&str> = ordinary.iter().map(String::as_str).collect();
    let breadth = if rule.action == Action::Allow {
        let mut probe = rule.clone();
        probe.action = Action::Quarantine;
        probe.category = Some(Category::Insult);
        let pack = RulePack::from_rules("probe", vec![probe]).ok()?;
        let alone = CompiledRules::compile(&[pack]).ok()?;
        backtest::breadth(&alone, &rule.id, &samples)
    } else {
        backtest::breadth(checker.rules(), &rule.id, &samples)
    };
    breadth.too_broad(MAX_ORDINARY_SHARE).then(|| {
        format!(
            "That rule is too broad: it matches {} of {} ordinary messages (the limit is {:.0}%). \
             Make it more specific. Nothing was stored.",
            breadth.matched,
            breadth.total,
            MAX_ORDINARY_SHARE * 100.0
        )
    })
}

/// A rule's patterns, behind spoilers (they are often the abuse itself).
pub fn describe_rule(rule: &Rule) -> String {
    let patterns: Vec<String> = rule
        .keywords
        .iter()
        .map(|k| format!("keyword ||{k}||"))
        .chain(rule.phrases.iter().map(|p| format!("phrase ||{p}||")))
        .chain(rule.regexes.iter().map(|r| format!("regex ||`{r}`||")))
        .collect();
    let mut patterns = patterns.join(", ");
    if patterns.chars().count() > 150 {
        patterns = patterns.chars().take(150).collect::<String>() + "…";
    }
    let action = match rule.action {
        Action::Quarantine => "quarantine",
        Action::Escalate => "escalate",
        Action::Allow => "allow",
    };
    match rule.category {
        Some(c) => format!(
            "`{}` {action} · {c} · severity {} · {patterns}",
            rule.id, rule.severity
        ),
        None => format!("`{}` {action} · {patterns}", rule.id),
    }
}

/// A verdict with its reasons, quotes behind spoilers.
pub fn describe_verdict(verdict: &Verdict, score: f32) -> String {
    let head = match verdict {
        Verdict::Allow { .. } => format!("Verdict: **allow** (score {score:.2})"),
        Verdict::Quarantine {
            category, severity, ..
        } => format!("Verdict: **quarantine** ({category}, severity {severity}; score {score:.2})"),
        Verdict::Escalate {
            category, severity, ..
        } => format!("Verdict: **escalate** ({category}, severity {severity}; score {score:.2})"),
    };
    let mut out = head;
    if verdict.reasons().is_empty() {
        out.push_str("\nNo rule or model signal.");
    }
    for reason in verdict.reasons() {
        out.push_str("\n- ");
        out.push_str(&reason.detail);
        if let Some(quote) = &reason.quote {
            out.push_str(&format!(" (||{quote}||)"));
        }
    }
    out
}

/// Tune the filter's rules.
#[poise::command(
    slash_command,
    subcommands(
        "add",
        "allow",
        "remove",
        "list",
        "test",
        "backtest",
        "super::automod::automod"
    ),
    subcommand_required
)]
pub async fn rules(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

/// Add a keyword, phrase or regex rule.
#[poise::command(slash_command)]
pub async fn add(
    ctx: Ctx<'_>,
    #[description = "keyword, phrase or regex"] kind: PatternKind,
    #[description = "What to match"] pattern: String,
    #[description = "The kind of abuse it catches"] category: CategoryChoice,
    #[description = "1 low, 2 medium (default), 3 high"] severity: Option<u8>,
    #[description = "quarantine (default) or escalate to helpers"] action: Option<RuleAction>,
) -> Result<(), Error> {
    let draft = Draft {
        kind,
        pattern,
        category: Some(category.into()),
        severity: severity.unwrap_or(2),
        action: match action.unwrap_or(RuleAction::Quarantine) {
            RuleAction::Quarantine => Action::Quarantine,
            RuleAction::Escalate => Action::Escalate,
        },
    };
    add_rule(ctx, draft).await
}

/// Add an allow rule: harmless text that must never be held ("scunthorpe").
#[poise::command(slash_command)]
pub async fn allow(
    ctx: Ctx<'_>,
    #[description = "The harmless text"] pattern: String,
    #[description = "phrase (default), keyword or regex"] kind: Option<PatternKind>,
) -> Result<(), Error> {
    let draft = Draft {
        kind: kind.unwrap_or(PatternKind::Phrase),
        pattern,
        category: None,
        severity: 1,
        action: Action::Allow,
    };
    add_rule(ctx, draft).await
}

async fn add_rule(ctx: Ctx<'_>, draft: Draft) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let by = ctx.author().id.get();
    let current = state.settings(guild.id);
    let id = next_rule_id(&current);
    let rule = match build_rule(&id, &draft) {
        Ok(rule) => rule,
        Err(problem) => return reply(ctx, problem).await,
    };
    // Try it first: the filter must build with it, and it must not match ordinary talk.
    let mut proposed = current.clone();
    proposed.rules.push(rule.clone());
    let checker = match super::live::checker_for(&state.base, guild, &proposed) {
        Ok(checker) => checker,
        Err(e) => {
            return reply(
                ctx,
                format!("That rule cannot be used: {e}. Nothing was stored."),
            )
            .await
        }
    };
    if let Some(refusal) = breadth_refusal(&checker, &rule, &state.ordinary) {
        return reply(ctx, refusal).await;
    }
    let stored_rule = rule.clone();
    let outcome = state
        .change(guild, by, &[Field::Rules], move |settings| {
            if settings.rules.iter().any(|r| r.id == stored_rule.id) {
                return Err("Another rule was added at the same moment; please try again. Nothing was stored.".into());
            }
            settings.rules.push(stored_rule);
            Ok(())
        })
        .await?;
    match outcome {
        Ok(()) => {
            reply(
                ctx,
                format!(
                    "Rule added and in effect from the next message: {}",
                    describe_rule(&rule)
                ),
            )
            .await
        }
        Err(refusal) => reply(ctx, refusal).await,
    }
}

/// Rule ids starting with what was typed (ids only, and only for those allowed to use `/shield`).
async fn rule_ids(ctx: Ctx<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let mut choices = Vec::new();
    if let Some(guild) = super::guild_of(&ctx) {
        let requester = super::auth::requester_of_command(ctx, guild).await;
        if access::authorise(requester, Permission::Moderate).is_ok() {
            let checker = ctx.data().checker(guild.id);
            choices = checker
                .rules()
                .rules()
                .iter()
                .filter(|r| r.id.contains(partial))
                .take(25)
                .map(|r| serenity::AutocompleteChoice::from(r.id.clone()))
                .collect();
        }
    }
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Remove a rule added by command, or switch off a shipped one.
#[poise::command(slash_command)]
pub async fn remove(
    ctx: Ctx<'_>,
    #[description = "The rule's id, from /shield rules list"]
    #[autocomplete = "rule_ids"]
    id: String,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let id = id.trim().to_string();
    let shipped = state.base.rules().rule(&id).is_some();
    let target = id.clone();
    let outcome = state
        .change(guild, ctx.author().id.get(), &[Field::Rules, Field::DisabledRules], move |s| {
            if let Some(at) = s.rules.iter().position(|r| r.id == target) {
                s.rules.remove(at);
                Ok("Rule removed")
            } else if shipped && !s.disabled_rules.contains(&target) {
                s.disabled_rules.push(target);
                Ok("Shipped rule switched off")
            } else if shipped {
                Err(format!("The shipped rule `{target}` is already switched off. Nothing was changed."))
            } else {
                Err(format!("There is no rule `{target}`. Use /shield rules list to see the ids. Nothing was changed."))
            }
        })
        .await?;
    match outcome {
        Ok(what) => {
            reply(
                ctx,
                format!("{what}: `{id}`. In effect from the next message."),
            )
            .await
        }
        Err(refusal) => reply(ctx, refusal).await,
    }
}

/// List the rules in effect, a page at a time.
#[poise::command(slash_command)]
pub async fn list(
    ctx: Ctx<'_>,
    #[description = "Page number (1 = first)"] page: Option<u32>,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let checker = state.checker(guild.id);
    let settings = state.settings(guild.id);
    let rules = checker.rules().rules();
    let pages = rules.len().div_ceil(RULES_PER_PAGE).max(1);
    let page = page.unwrap_or(1).max(1) as usize;
    if page > pages {
        return reply(ctx, format!("There are only {pages} pages of rules.")).await;
    }
    let mut out = format!(
        "**Rules in effect** ({} rules; {} added by command, {} shipped switched off) · page {page} of {pages}\n",
        rules.len(),
        settings.rules.len(),
        settings.disabled_rules.len()
    );
    for rule in rules
        .iter()
        .skip((page - 1) * RULES_PER_PAGE)
        .take(RULES_PER_PAGE)
    {
        out.push_str(&describe_rule(rule));
        out.push('\n');
    }
    if page < pages {
        out.push_str(&format!("Next: `/shield rules list page:{}`", page + 1));
    }
    reply(ctx, out).await
}

/// Test a text against the live rules and scorer.
#[poise::command(slash_command)]
pub async fn test(
    ctx: Ctx<'_>,
    #[description = "The text to test"] text: String,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    if text.trim().is_empty() {
        return reply(ctx, "Give a text to test.").await;
    }
    let checked = ctx
        .data()
        .checker(guild.id)
        .check(&text, &Context::default());
    reply(ctx, describe_verdict(&checked.verdict, checked.score)).await
}

/// What a proposed rule would have done to the last days' messages, before adding it.
#[poise::command(slash_command)]
pub async fn backtest(
    ctx: Ctx<'_>,
    #[description = "keyword, phrase or regex"] kind: PatternKind,
    #[description = "What to match"] pattern: String,
    #[description = "The kind of abuse it catches (leave empty for an allow rule)"]
    category: Option<CategoryChoice>,
    #[description = "1 low, 2 medium (default), 3 high"] severity: Option<u8>,
    #[description = "How many days back (default 7)"] days: Option<u32>,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let current_settings = state.settings(guild.id);
    let id = next_rule_id(&current_settings);
    let draft = Draft {
        kind,
        pattern,
        category: category.map(Category::from),
        severity: severity.unwrap_or(2),
        action: if category.is_some() {
            Action::Quarantine
        } else {
            Action::Allow
        },
    };
    let rule = match build_rule(&id, &draft) {
        Ok(rule) => rule,
        Err(problem) => return reply(ctx, problem.replace("Nothing was stored.", "")).await,
    };
    let mut proposed_settings = current_settings;
    proposed_settings.rules.push(rule.clone());
    let proposed = match super::live::checker_for(&state.base, guild, &proposed_settings) {
        Ok(c) => c,
        Err(e) => return reply(ctx, format!("That rule cannot be used: {e}.")).await,
    };
    let current = state.checker(guild.id);
    let days = days.unwrap_or(7).clamp(1, 365);
    let now = state.store.clock().now_ms();
    let records: Vec<_> = state
        .store
        .records_between(now - i64::from(days) * DAY_MS, now + 1)?
        .into_iter()
        .filter(|r| r.guild_id == guild.id)
        .collect();
    let past: Vec<PastMessage<'_>> = records
        .iter()
        .map(|r| PastMessage {
            id: r.id.0,
            text: &r.content,
        })
        .collect();
    let result = backtest::compare(&current, &proposed, &past);
    let ordinary: Vec<PastMessage<'_>> = state
        .ordinary
        .iter()
        .enumerate()
        .map(|(i, text)| PastMessage { id: i as u64, text })
        .collect();
    let ordinary_result = backtest::compare(&current, &proposed, &ordinary);
    let text_of = |id: u64| {
        records
            .iter()
            .find(|r| r.id.0 == id)
            .map(|r| backtest::mask(&r.content, 80))
            .unwrap_or_default()
    };
    let mut out = format!(
        "**Backtest of** {}\nQuarantined messages of the last {days} days: {} replayed; removed now {}, with the rule {} ({:+}).\n",
        describe_rule(&rule),
        result.examined,
        result.removed_now,
        result.removed_proposed,
        result.change()
    );
    if !result.newly_removed.is_empty() {
        out.push_str(&format!(
            "{} more would be held, e.g.:\n",
            result.newly_removed.len()
        ));
        for id in result.newly_removed.iter().take(3) {
            out.push_str(&format!("- #{id} ||{}||\n", text_of(*id)));
        }
    }
    if !result.no_longer_removed.is_empty() {
        out.push_str(&format!(
            "{} fewer would be held, e.g.:\n",
            result.no_longer_removed.len()
        ));
        for id in result.no_longer_removed.iter().take(3) {
            out.push_str(&format!("- #{id} ||{}||\n", text_of(*id)));
        }
    }
    out.push_str(&format!(
        "Sample of {} ordinary messages: held now {}, with the rule {}.\n",
        ordinary_result.examined, ordinary_result.removed_now, ordinary_result.removed_proposed
    ));
    if let Some(refusal) = breadth_refusal(&proposed, &rule, &state.ordinary) {
        out.push_str(&refusal.replace(" Nothing was stored.", ""));
        out.push('\n');
    }
    out.push_str("Nothing was changed. The store keeps only removed messages, so kept traffic is estimated from the ordinary sample.");
    reply(ctx, out).await
}
