//! The shell side of pile-on defence without Discord: `Shields` fed messages directly, on a
//! manual clock, checking the state changes it publishes and the audit lines it records. (The
//! end-to-end proof on the local server is `tests/pileon_scenarios.rs`.)

use shieldbot::bot::incoming::{Arrival, Incoming};
use shieldbot::bot::shield::{AlertRoute, DueSummary, SAVED_SHIELD_KEY};
use shieldbot::bot::{BotEvent, ShieldError, Shields};
use shieldbot::clock::{Clock, ManualClock};
use shieldbot::config::Config;
use shieldbot::store::{Event, Store};
use shieldbot_core::pileon::{ShieldTransition, SummaryMoment};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

const GUILD: u64 = 100;
const PERSON: u64 = 200;
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;
const T0: i64 = 1_800_000_000_000;
const DAY: i64 = 86_400_000;

fn config(pileon: &str) -> Config {
    Config::from_toml_str(&format!(
        "[[guild]]\nid = {GUILD}\nhelpers = [300]\nhelpers_channel = 400\n\
         [[guild.protected]]\nuser_id = {PERSON}\n[guild.pileon]\n{pileon}"
    ))
    .unwrap()
}

/// A user id minted at `created_ms` (the account's age is read from it, as on Discord).
fn user(created_ms: i64, n: u64) -> u64 {
    (((created_ms - DISCORD_EPOCH_MS) as u64) << 22) | n
}

fn message(author_id: u64, joined_ms: i64, sent_ms: i64) -> Incoming {
    Incoming {
        arrival: Arrival::Created,
        guild_id: GUILD,
        channel_id: 500,
        message_id: user(sent_ms, author_id & 0xfff),
        author_id,
        author_name: "someone".into(),
        author_is_bot: false,
        author_roles: Vec::new(),
        member_joined_at_ms: Some(joined_ms),
        content: String::new(),
        mentioned_users: vec![PERSON],
        reply_to: None,
        attachment_urls: Vec::new(),
        sent_at_ms: sent_ms,
        edited_at_ms: None,
    }
}

struct Setup {
    shields: Arc<Shields>,
    clock: ManualClock,
    events: broadcast::Receiver<BotEvent>,
    store: Store,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    setup_with("")
}

fn setup_with(pileon: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let shared_clock: Arc<dyn Clock> = Arc::new(clock.clone());
    let store =
        Store::open_with_clock(dir.path().join("store"), Arc::clone(&shared_clock)).unwrap();
    let (shields, events) = shields_on(pileon, &store, &clock);
    Setup {
        shields,
        clock,
        events,
        store,
        _dir: dir,
    }
}

/// `Shields` for the guild with `pileon` settings on `store`, and its events.
fn shields_on(
    pileon: &str,
    store: &Store,
    clock: &ManualClock,
) -> (Arc<Shields>, broadcast::Receiver<BotEvent>) {
    let (sender, events) = broadcast::channel(1024);
    let clock: Arc<dyn Clock> = Arc::new(clock.clone());
    let shields = Shields::new(&config(pileon), store.clone(), sender, clock);
    (Arc::new(shields), events)
}

/// What a restarted bot builds: new `Shields` on the same store and clock.
fn restarted(s: &Setup) -> (Arc<Shields>, broadcast::Receiver<BotEvent>) {
    shields_on("", &s.store, &s.clock)
}

fn shield_changes(events: &mut broadcast::Receiver<BotEvent>) -> Vec<ShieldTransition> {
    let mut out = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let BotEvent::Shield(change) = event {
            out.push(change.transition);
        }
    }
    out
}

fn audit_actions(store: &Store) -> Vec<String> {
    store
        .chain_entries(0)
        .unwrap()
        .into_iter()
        .filter_map(|(e, _)| match e.event {
            Event::Audit { action, .. } => Some(action),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn fresh_accounts_raise_the_shield_regulars_are_never_held_and_the_clock_expires_it() {
    let mut s = setup();
    let regular = user(T0 - 900 * DAY, 1);
    // A regular replies now and then: nothing happens.
    for i in 0..5 {
        let facts = s.shields.observe(
            &[PERSON],
            &message(regular, T0 - 400 * DAY, T0 + i * 60_000),
        );
        assert!(!facts.shield_up && !facts.shield_hold);
    }
    // Fresh accounts every 5 s.
    let start = T0 + 10 * 60_000;
    let mut raised_at = None;
    for i in 0..20 {
        let at = start + i * 5_000;
        let raider = user(at - DAY / 2, 1000 + i as u64);
        let facts = s
            .shields
            .observe(&[PERSON], &message(raider, at - 60_000, at));
        if facts.shield_up && raised_at.is_none() {
            raised_at = Some(at);
            assert!(facts.shield_hold, "the raider that tripped it is held too");
        }
    }
    let raised_at = raised_at.expect("no shield-up");
    assert!(raised_at - start < 60_000);
    // A regular during the shield-up: flagged as shield-up, never held.
    let facts = s.shields.observe(
        &[PERSON],
        &message(regular, T0 - 400 * DAY, start + 100_000),
    );
    assert!(facts.shield_up && !facts.shield_hold);
    assert!(s.shields.status(GUILD).is_some());
    let changes = shield_changes(&mut s.events);
    assert!(
        matches!(changes.as_slice(), [ShieldTransition::Raised(_)]),
        "{changes:?}"
    );

    // No one posts; the wall clock passes the end; the ticker's check brings it down.
    s.clock.set_ms(start + 100_000 + 31 * 60_000);
    s.shields.expire_due();
    let changes = shield_changes(&mut s.events);
    assert!(
        matches!(changes.as_slice(), [ShieldTransition::Expired { .. }]),
        "{changes:?}"
    );
    assert!(s.shields.status(GUILD).is_none());
    assert_eq!(audit_actions(&s.store), ["shield_up", "shield_down"]);
}

#[tokio::test]
async fn manual_controls_validate_and_record() {
    let mut s = setup();
    assert_eq!(
        s.shields.raise(GUILD, Duration::from_secs(10), Some(300)),
        Err(ShieldError::BadDuration)
    );
    assert_eq!(
        s.shields.raise(999, Duration::from_secs(600), Some(300)),
        Err(ShieldError::UnknownGuild(999))
    );
    assert_eq!(s.shields.lower(GUILD, Some(300)), Ok(None));
    let up = s
        .shields
        .raise(GUILD, Duration::from_secs(3600), Some(300))
        .unwrap();
    assert_eq!(up.until_ms - up.since_ms, 3_600_000);
    // A new member (joined an hour ago) on an old account is held while it is up.
    let old_account_new_member = user(T0 - 500 * DAY, 7);
    let facts = s.shields.observe(
        &[PERSON],
        &message(old_account_new_member, T0 - 3_600_000, T0 + 1_000),
    );
    assert!(facts.shield_hold);
    assert!(s.shields.lower(GUILD, Some(300)).unwrap().is_some());
    let facts = s.shields.observe(
        &[PERSON],
        &message(old_account_new_member, T0 - 3_600_000, T0 + 2_000),
    );
    assert!(!facts.shield_up && !facts.shield_hold);
    let changes = shield_changes(&mut s.events);
    assert!(matches!(
        changes.as_slice(),
        [
            ShieldTransition::Raised(_),
            ShieldTransition::Lowered { by: Some(300), .. }
        ]
    ));
    assert_eq!(audit_actions(&s.store), ["shield_up", "shield_down"]);
}

#[tokio::test]
async fn a_restart_resumes_a_running_shield_up_and_reports_one_that_ran_out_while_down() {
    let s = setup();
    let up = s
        .shields
        .raise(GUILD, Duration::from_secs(1800), Some(300))
        .unwrap();

    // Restarted ten minutes in: the same shield-up, holding new members, not announced again.
    s.clock.set_ms(T0 + 10 * 60_000);
    let (after_crash, mut events) = restarted(&s);
    assert_eq!(after_crash.status(GUILD), Some(up.clone()));
    let new_member = user(T0 - 500 * DAY, 7);
    let facts = after_crash.observe(
        &[PERSON],
        &message(new_member, T0 - 3_600_000, T0 + 10 * 60_000),
    );
    assert!(facts.shield_up && facts.shield_hold);
    assert!(shield_changes(&mut events).is_empty());
    assert_eq!(audit_actions(&s.store), ["shield_up"]);

    // Down past its end: the next run reports it expired at its first tick, and clears it.
    s.clock.set_ms(up.until_ms + 60_000);
    let (late, mut events) = restarted(&s);
    assert!(late.status(GUILD).is_none());
    late.expire_due();
    let changes = shield_changes(&mut events);
    assert_eq!(changes, [ShieldTransition::Expired { was: up }]);
    assert_eq!(audit_actions(&s.store), ["shield_up", "shield_down"]);
    assert_eq!(s.store.setting(GUILD, SAVED_SHIELD_KEY).unwrap(), None);
    let (again, mut events) = restarted(&s);
    again.expire_due();
    assert!(again.status(GUILD).is_none() && shield_changes(&mut events).is_empty());

    // Lowered by a helper: nothing to resume.
    again
        .raise(GUILD, Duration::from_secs(600), Some(300))
        .unwrap();
    assert!(again.lower(GUILD, Some(300)).unwrap().is_some());
    let (lowered, _) = restarted(&s);
    assert!(lowered.status(GUILD).is_none());
}

#[tokio::test]
async fn a_pile_ons_extension_of_the_shield_survives_a_restart_to_within_a_minute() {
    let s = setup();
    // Fresh accounts every 5 s for three minutes: the shield goes up, and each one extends it.
    for i in 0..36 {
        let at = T0 + i * 5_000;
        let raider = user(at - DAY / 2, 1000 + i as u64);
        s.shields
            .observe(&[PERSON], &message(raider, at - 60_000, at));
    }
    let live = s.shields.status(GUILD).expect("no shield-up");
    assert!(
        live.until_ms - live.since_ms >= 30 * 60_000 + 60_000,
        "{live:?}"
    );
    let (after_crash, _) = restarted(&s);
    let resumed = after_crash.status(GUILD).expect("not resumed");
    assert_eq!(
        (resumed.since_ms, &resumed.cause),
        (live.since_ms, &live.cause)
    );
    assert!(
        resumed.until_ms > live.since_ms + 30 * 60_000,
        "extension not saved"
    );
    assert!(
        live.until_ms - resumed.until_ms < 60_000,
        "{resumed:?} vs {live:?}"
    );
}

fn due(moment: SummaryMoment, items: &[u64]) -> Vec<DueSummary> {
    vec![DueSummary {
        guild_id: GUILD,
        moment,
        items: items.to_vec(),
    }]
}

#[tokio::test]
async fn while_the_shield_is_up_threats_past_the_first_few_are_folded_and_summarised_on_time() {
    let s = setup_with("alert_immediately = 2\nalert_summary_secs = 1\n");
    // Outside shield-up every threat is alerted at once, however many.
    for item in 1..=5 {
        assert_eq!(s.shields.route_alert(GUILD, item), AlertRoute::Immediate);
    }
    assert!(s.shields.summaries_due(true).is_empty());

    s.shields
        .raise(GUILD, Duration::from_secs(3600), Some(300))
        .unwrap();
    assert_eq!(s.shields.route_alert(GUILD, 10), AlertRoute::Immediate);
    assert_eq!(s.shields.route_alert(GUILD, 11), AlertRoute::Immediate);
    for item in 12..=14 {
        assert_eq!(s.shields.route_alert(GUILD, item), AlertRoute::Folded);
    }
    // Not due before the period; everything is owed at shutdown whatever the time.
    assert!(s.shields.summaries_due(false).is_empty());
    assert_eq!(
        s.shields.summaries_due(true),
        due(SummaryMoment::ShieldUp, &[12, 13, 14])
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        s.shields.summaries_due(false),
        due(SummaryMoment::ShieldUp, &[12, 13, 14])
    );
    // A round that covered only some items: the rest stay owed, the period starts again.
    s.shields.summary_delivered(GUILD, &[12, 13]);
    assert!(s.shields.summaries_due(false).is_empty());
    assert_eq!(s.shields.route_alert(GUILD, 15), AlertRoute::Folded);

    // The shield comes down: the final summary is due at once.
    s.shields.lower(GUILD, Some(300)).unwrap();
    assert_eq!(
        s.shields.summaries_due(false),
        due(SummaryMoment::Final, &[14, 15])
    );
    s.shields.summary_delivered(GUILD, &[14, 15]);
    assert!(s.shields.summaries_due(true).is_empty());
    assert_eq!(s.shields.route_alert(GUILD, 16), AlertRoute::Immediate);

    // A new shield-up starts a new count of immediate alerts.
    s.shields
        .raise(GUILD, Duration::from_secs(3600), Some(300))
        .unwrap();
    assert_eq!(s.shields.route_alert(GUILD, 20), AlertRoute::Immediate);
    // Items a previous run folded are owed from the start.
    assert!(s.shields.owe_folded(GUILD, 7));
    assert!(!s.shields.owe_folded(999, 8));
    assert_eq!(
        s.shields.summaries_due(true),
        due(SummaryMoment::ShieldUp, &[7])
    );
}
