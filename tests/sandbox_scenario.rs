//! `shieldbot sandbox` end to end: the shipped harassment night played against the local
//! Discord-compatible server by the real bot, with a real sled store on disk.
//!
//! The scenario file carries an `expect` field per message (`keep`, `remove` or `escalate`;
//! unknown fields are ignored by the scenario format), so the expectations live beside the
//! data rather than in this file.

use shieldbot::config::Config;
use shieldbot::sandbox::{self, scenario, SandboxOptions};
use shieldbot::store::Store;
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
        let ok = match expect.as_str() {
            "keep" => line.outcome == "kept" && !line.deleted,
            "remove" => line.outcome != "kept" && line.deleted,
            "escalate" => line.outcome == "escalated" && line.deleted,
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
    }
    assert!(wrong.is_empty(), "wrong outcomes:\n{}", wrong.join("\n"));

    // Removed text never reaches a public channel: nothing the bot posted outside the
    // helpers' channel (or DMs) contains any removed message.
    let removed: Vec<&String> = run
        .lines
        .iter()
        .filter(|l| l.deleted)
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

    // Every removed message is durably in the store, once.
    let store = Store::open(store_dir.path().join("store")).unwrap();
    let removed_count = run.lines.iter().filter(|l| l.deleted).count();
    assert_eq!(store.len(), removed_count);
}
