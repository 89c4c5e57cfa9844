//! `shieldbot sandbox` end to end: the shipped harassment night played against the local
//! Discord-compatible server by the real bot, with a real sled store on disk.
//!
//! The scenario file carries an `expect` field per message (`keep`, `remove` or `escalate`;
//! unknown fields are ignored by the scenario format), so the expectations live beside the
//! data rather than in this file.
//!
//! The shipped config mirrors rules into the local server's AutoMod, so some abuse is blocked
//! before it is posted: such a message counts as removed when the bot made a quarantine record
//! of its AUTO_MODERATION_ACTION_EXECUTION, with the text as written.

use shieldbot::config::Config;
use shieldbot::sandbox::{self, report, scenario, SandboxOptions};
use shieldbot::store::{Removal, Store};
use std::path::Path;
use std::time::Duration;

fn shipped(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_harassment_night_is_shielded() {
    let scenario_path = shipped("config/scenarios/harassment-night.jsonl");
    let text = std::fs::read_to_string(&scenario_path).unwrap();
    let messages = scenario::parse(&text, "harassment-night.jsonl").unwrap();
    let expected: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["expect"].as_str().unwrap().to_string()
        })
        .collect();
    let store_dir = tempfile::tempdir().unwrap();
    let options = SandboxOptions {
        config: Config::load(&shipped("config/shieldbot.toml")).unwrap(),
        store_dir: Some(store_dir.path().join("store")),
        speed: 20.0,
        settle: Duration::from_secs(20),
    };
    let run = sandbox::run(&messages, options).await.unwrap();

    assert_eq!(run.lines.len(), messages.len());
    let mut wrong = Vec::new();
    for (line, expect) in run.lines.iter().zip(&expected) {
        assert!(line.handled, "no decision for message {}", line.index);
        // Gone: deleted after it landed, or blocked before it was posted.
        let gone = line.deleted || line.blocked;
        let ok = match expect.as_str() {
            "keep" => line.outcome == "kept" && !gone,
            "remove" => line.outcome != "kept" && gone,
            "escalate" => line.outcome == "escalated" && gone,
            other => panic!("unknown expectation {other}"),
        };
        if !ok {
            wrong.push(format!(
                "#{} expected {expect}, got {} (deleted {}): {}",
                line.index, line.outcome, line.deleted, run.contents[line.index]
            ));
        }
        if line.deleted {
            assert!(line.latency_ms.is_some(), "deleted without a timed DELETE");
        }
        if line.blocked {
            assert!(!line.deleted && line.latency_ms.is_none());
        }
    }
    assert!(wrong.is_empty(), "wrong outcomes:\n{}", wrong.join("\n"));

    // The mirror blocked some of the abuse before it was posted, and the report says how much.
    let blocked: Vec<&report::ReportLine> = run.lines.iter().filter(|l| l.blocked).collect();
    assert!(
        !blocked.is_empty(),
        "the AutoMod mirror blocked nothing of the harassment night"
    );
    let summary = report::summarise(&run.lines);
    assert_eq!(summary.blocked, blocked.len());
    let share = summary.blocked_share().unwrap();
    assert!(share > 0.0 && share < 1.0, "{share}");
    assert!(report::render(&run.lines, &run.contents).contains("blocked before sending"));
    let json = serde_json::to_value(blocked[0]).unwrap();
    assert_eq!(json["blocked"], true);
    assert_eq!(json["deleted"], false);
    // A blocked message never reached the channel.
    for line in &blocked {
        let text = &run.contents[line.index];
        assert!(run
            .server
            .channel_messages(run.channel_id)
            .iter()
            .all(|m| m["content"].as_str() != Some(text.as_str())));
    }

    // Removed text never reaches a public channel: nothing the bot posted outside the
    // helpers' channel (or DMs) contains any removed message.
    let removed: Vec<&String> = run
        .lines
        .iter()
        .filter(|l| l.deleted || l.blocked)
        .map(|l| &run.contents[l.index])
        .collect();
    for request in run.server.requests_matching("POST", "/channels/*/messages") {
        let channel: u64 = request.route().split('/').nth(2).unwrap().parse().unwrap();
        if channel != run.channel_id {
            continue;
        }
        let body = String::from_utf8_lossy(&request.body);
        for text in &removed {
            assert!(
                !body.contains(text.as_str()),
                "removed text posted publicly"
            );
        }
    }

    // Every removed message is durably in the store, once; a blocked one with the text as
    // written, taken from the AutoMod execution (its only copy), and nothing left to delete.
    let store = Store::open(store_dir.path().join("store")).unwrap();
    assert_eq!(store.len(), removed.len());
    let records = store.all_records().unwrap();
    for line in &blocked {
        let text = &run.contents[line.index];
        let record = records
            .iter()
            .find(|r| &r.content == text)
            .unwrap_or_else(|| panic!("blocked message {} not in quarantine", line.index));
        assert!(matches!(record.removal, Removal::AlreadyGone { .. }));
        assert_eq!(Some(record.verdict.name()), line.verdict);
    }
    assert!(store.pending_deletes().unwrap().is_empty());
}
