//! The command logic without Discord: drafting and refusing rules, settings persisted in a real
//! store and rebuilt into the judge's live table, sensitivity levels mapped onto the policy, the
//! review order and the period counts. The end-to-end path is in `commands_end_to_end.rs`.

mod support;

use shieldbot::commands::live::{
    self, checker_for, policy_for, Field, GuildSettings, Level, LiveSettings,
};
use shieldbot::commands::review::{guild_of_click, worst_first, ButtonAction};
use shieldbot::commands::rules::{breadth_refusal, build_rule, next_rule_id, Draft, PatternKind};
use shieldbot::commands::{auth, CommandState};
use shieldbot::commands::{ordinary_messages, stats};
use shieldbot::config::GuildConfig;
use shieldbot::store::{NewQuarantine, QuarantineRecord, RecordId, Status, Store};
use shieldbot_core::policy::Context;
use shieldbot_core::rules::Action;
use shieldbot_core::{Category, Severity, Verdict};
use std::collections::BTreeMap;
use support::data::data;

fn text(kind: &str) -> String {
    data("commands/texts.tsv")
        .into_iter()
        .find(|(k, _)| k == kind)
        .unwrap()
        .1
}

fn draft(kind: PatternKind, pattern: &str) -> Draft {
    Draft {
        kind,
        pattern: pattern.to_string(),
        category: Some(Category::Insult),
        severity: 2,
        action: Action::Quarantine,
    }
}

fn base() -> shieldbot_core::check::Checker {
    shieldbot::filter::load_checker(None).unwrap()
}

#[test]
fn bad_rules_are_explained_and_good_ones_built() {
    let empty = build_rule("cmd-1", &draft(PatternKind::Keyword, "  ")).unwrap_err();
    assert!(empty.contains("empty"), "{empty}");
    let two_words = build_rule("cmd-1", &draft(PatternKind::Keyword, "two words")).unwrap_err();
    assert!(two_words.contains("phrase"), "{two_words}");
    let bad = build_rule("cmd-1", &draft(PatternKind::Regex, &text("bad_regex"))).unwrap_err();
    assert!(bad.contains("does not compile"), "{bad}");
    let long = build_rule("cmd-1", &draft(PatternKind::Regex, &"a".repeat(600))).unwrap_err();
    assert!(long.contains("limit"), "{long}");
    let punctuation = build_rule("cmd-1", &draft(PatternKind::Phrase, "!!!")).unwrap_err();
    assert!(
        punctuation.contains("no letters or digits"),
        "{punctuation}"
    );
    let mut severe = draft(PatternKind::Keyword, "x");
    severe.severity = 4;
    assert!(build_rule("cmd-1", &severe)
        .unwrap_err()
        .contains("Severity"));
    for error in [empty, bad, long] {
        assert!(error.ends_with("Nothing was stored."), "{error}");
    }

    let rule = build_rule("cmd-1", &draft(PatternKind::Keyword, &text("keyword"))).unwrap();
    assert_eq!(rule.keywords, vec![text("keyword")]);
    assert_eq!(rule.severity, Severity::MEDIUM);
}

#[test]
fn rules_matching_ordinary_talk_are_refused() {
    let base = base();
    let ordinary = ordinary_messages();
    assert!(ordinary.len() >= 100);
    let guild = GuildConfig::new(1);
    let check = |d: Draft| {
        let rule = build_rule("cmd-1", &d).unwrap();
        let settings = GuildSettings {
            rules: vec![rule.clone()],
            ..GuildSettings::default()
        };
        let checker = checker_for(&base, &guild, &settings).unwrap();
        breadth_refusal(&checker, &rule, &ordinary)
    };
    let broad = check(draft(PatternKind::Keyword, &text("broad_keyword"))).expect("refused");
    assert!(broad.contains("too broad"), "{broad}");
    assert!(check(draft(PatternKind::Regex, &text("broad_regex"))).is_some());
    let mut allow_everything = draft(PatternKind::Keyword, "you");
    allow_everything.action = Action::Allow;
    allow_everything.category = None;
    assert!(
        check(allow_everything).is_some(),
        "an allow rule on `you` would shield abuse"
    );
    assert_eq!(check(draft(PatternKind::Keyword, &text("keyword"))), None);
}

#[test]
fn settings_persist_attributed_and_rebuild_the_live_filter() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let guild = GuildConfig::new(42);
    let base = base();
    let mut settings = GuildSettings::default();
    let rule = build_rule(
        &next_rule_id(&settings),
        &draft(PatternKind::Keyword, &text("keyword")),
    )
    .unwrap();
    assert_eq!(rule.id, "cmd-1");
    settings.rules.push(rule);
    settings
        .sensitivity
        .insert(Category::Profanity, Level::High);
    settings.deny_users.push(7);
    for field in [Field::Rules, Field::Sensitivity, Field::DenyUsers] {
        settings.save(&store, guild.id, field, 99).unwrap();
    }
    assert_eq!(next_rule_id(&settings), "cmd-2");
    assert_eq!(GuildSettings::load(&store, guild.id).unwrap(), settings);
    assert_eq!(
        GuildSettings::load(&store, 43).unwrap(),
        GuildSettings::default()
    );

    let table = LiveSettings::new();
    live::restore(std::slice::from_ref(&guild), &store, &base, &table).unwrap();
    let restored = table.get(guild.id).expect("restored");
    assert!(restored.settings.is_deny_listed(7, &[]));
    let verdict = restored
        .checker
        .check(&text("with_keyword"), &Context::default())
        .verdict;
    assert!(verdict.removes(), "{verdict:?}");
    assert!(!base
        .check(&text("with_keyword"), &Context::default())
        .verdict
        .removes());
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn sensitivity_levels_move_the_policy() {
    let guild = GuildConfig::new(1);
    let base = shieldbot_core::policy::PolicyConfig::default();
    let mut settings = GuildSettings::default();
    assert_eq!(policy_for(&base, &guild, &settings), base);
    settings.sensitivity.insert(Category::Insult, Level::Off);
    settings
        .sensitivity
        .insert(Category::Profanity, Level::High);
    settings.escalate_threat_probability = Some(0.75);
    let policy = policy_for(&base, &guild, &settings);
    assert_eq!(policy.rule_min_severity.insult, 4);
    assert!(policy.thresholds.insult > 1.0);
    assert_eq!(policy.rule_min_severity.profanity, 1);
    assert!(policy.thresholds.profanity < base.thresholds.profanity);
    assert_eq!(policy.escalate_threat_probability, 0.75);
    assert_eq!(
        policy.rule_min_severity.threat,
        base.rule_min_severity.threat
    );
}

fn record(id: u64, verdict: Verdict, score: f32, at: i64) -> QuarantineRecord {
    let new = NewQuarantine {
        message_id: 1000 + id,
        verdict,
        scores: BTreeMap::from([(Category::Insult, score)]),
        ..new_item(1, 0)
    };
    QuarantineRecord::new(RecordId(id), new, at)
}

fn held(category: Category, severity: Severity, escalate: bool) -> Verdict {
    support::records::verdict(escalate, category, severity, vec![])
}

#[test]
fn review_is_worst_first_and_stats_count_by_category_and_status() {
    let mut records = vec![
        record(1, held(Category::Insult, Severity::LOW, false), 0.9, 10),
        record(2, held(Category::Insult, Severity::HIGH, false), 0.5, 20),
        record(3, held(Category::Threat, Severity::MEDIUM, true), 0.1, 30),
        record(4, held(Category::Insult, Severity::HIGH, false), 0.8, 40),
    ];
    records[0].status = Status::Released;
    let counts = stats::count(&records);
    assert_eq!(counts.total, 4);
    assert_eq!(counts.escalated, 1);
    assert_eq!(counts.by_category[&Category::Insult], 3);
    assert_eq!(counts.by_status[&Status::Released], 1);
    assert_eq!(counts.by_status[&Status::Held], 3);
    worst_first(&mut records);
    let order: Vec<u64> = records.iter().map(|r| r.id.0).collect();
    assert_eq!(order, vec![3, 4, 2, 1]);
}

/// A guild's `[guild.sensitivity]` from the config applies from the first message, before any
/// command has changed anything: switching a category off keeps what the base filter removes.
#[test]
fn config_sensitivities_apply_without_any_command() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let base = base();
    let abusive = text("abusive");
    let removed = base.check(&abusive, &Context::default()).verdict;
    let category = removed.category().expect("the base filter removes it");

    let plain = GuildConfig::new(1);
    let mut relaxed = GuildConfig::new(2);
    relaxed
        .sensitivity
        .set(category, shieldbot::config::Sensitivity::Off);
    let table = LiveSettings::new();
    live::restore(&[plain.clone(), relaxed.clone()], &store, &base, &table).unwrap();

    assert!(
        table.get(plain.id).is_none(),
        "default config needs no own filter"
    );
    let live = table
        .get(relaxed.id)
        .expect("configured sensitivities get a filter");
    let kept = live.checker.check(&abusive, &Context::default()).verdict;
    assert!(!kept.removes(), "{category} is off in the config: {kept:?}");
}

/// A release / confirm button clicked in a DM (no guild on the interaction) acts in the guild of
/// the item it names, and only for someone authorised there; anything else in a DM is refused.
#[test]
fn dm_clicks_act_in_the_items_guild_for_authorised_clickers_only() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("shieldbot.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"
[store]
path = "{store}"

[[guild]]
id = "1"
helpers = ["5"]
helpers_channel = "8"

[[guild.protected]]
user_id = "4"
"#,
            store = dir.path().join("store").display()
        ),
    )
    .unwrap();
    let config = shieldbot::config::Config::load(&config_path).unwrap();
    let store = Store::open(&config.store_path).unwrap();
    let shielded = store.quarantine(new_item(1, 100)).unwrap().id.0;
    let elsewhere = store.quarantine(new_item(77, 101)).unwrap().id.0;
    let state = CommandState::new(
        &config,
        store,
        std::sync::Arc::new(LiveSettings::new()),
        base(),
    );

    for action in [
        ButtonAction::Release(shielded),
        ButtonAction::Confirm(shielded),
    ] {
        let guild = guild_of_click(&state, None, action).expect("the item's guild");
        assert_eq!(guild.id, 1);
        // The protected person and the helper may act there; a stranger may not.
        for (user, allowed) in [(4, true), (5, true), (9, false)] {
            let requester = auth::requester(&state, guild, user, false);
            let verdict = shieldbot_core::access::authorise(
                requester,
                shieldbot_core::access::Permission::Moderate,
            );
            assert_eq!(verdict.is_ok(), allowed, "user {user}");
        }
    }
    // An item of a guild not shielded here, an unknown item, and other buttons: refused.
    assert!(guild_of_click(&state, None, ButtonAction::Release(elsewhere)).is_none());
    assert!(guild_of_click(&state, None, ButtonAction::Confirm(999)).is_none());
    assert!(guild_of_click(&state, None, ButtonAction::Ban(shielded)).is_none());
    assert!(guild_of_click(&state, None, ButtonAction::Page(1)).is_none());
    // In a server the interaction's own guild counts, whatever the item says.
    assert!(guild_of_click(&state, Some(77), ButtonAction::Release(shielded)).is_none());
    assert_eq!(
        guild_of_click(&state, Some(1), ButtonAction::Release(elsewhere)).map(|g| g.id),
        Some(1)
    );
}

fn new_item(guild_id: u64, message_id: u64) -> NewQuarantine {
    NewQuarantine {
        guild_id,
        channel_id: 2,
        message_id,
        author_id: 3,
        author_name: "a".into(),
        member_joined_ms: None,
        target_user_ids: vec![4],
        content: String::new(),
        attachment_urls: vec![],
        edits: vec![],
        verdict: held(Category::Insult, Severity::HIGH, false),
        scores: BTreeMap::new(),
    }
}
