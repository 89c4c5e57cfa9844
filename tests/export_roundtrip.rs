//! The evidence pack: export writes HTML + JSON, the JSON verifies (library and CLI), a partial
//! export still verifies with other items redacted, and changing one byte of the export or of
//! the store makes `shieldbot verify` exit non-zero naming the first broken record.

use shieldbot::clock::ManualClock;
use shieldbot::store::evidence::{verify_pack_json, EvidencePack, Selection};
use shieldbot::store::{evidence_html, DeleteOutcome, NewQuarantine, RecordId, Status, Store};
use shieldbot_core::verdict::{Reason, ReasonSource};
use shieldbot_core::{Category, Severity, Verdict};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

const T0: i64 = 1_760_000_000_000;

fn item(message_id: u64, author_id: u64, content: &str) -> NewQuarantine {
    NewQuarantine {
        guild_id: 11,
        channel_id: 22,
        message_id,
        author_id,
        author_name: format!("<b>author{author_id}</b>"),
        member_joined_ms: Some(T0 - 86_400_000),
        target_user_ids: vec![33],
        content: content.to_string(),
        attachment_urls: vec!["https://cdn.example/x.png".into()],
        edits: vec![],
        verdict: Verdict::Escalate {
            category: Category::Threat,
            severity: Severity::HIGH,
            reasons: vec![Reason {
                source: ReasonSource::Model { probability: 0.97 },
                category: Category::Threat,
                severity: Severity::HIGH,
                span: Some(0..5),
                quote: Some("quote".into()),
                detail: "threat model".into(),
            }],
        },
        scores: [(Category::Threat, 0.97_f32)].into_iter().collect(),
    }
}

fn filled(dir: &Path) -> Store {
    let clock = ManualClock::new(T0);
    let store = Store::open_with_clock(dir, Arc::new(clock.clone())).unwrap();
    let lines = std::fs::read_to_string(format!(
        "{}/tests/data/digest_singles.jsonl",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    for (i, line) in lines.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let author = 700_000_000_000_000_000 + (i as u64 % 3);
        store
            .quarantine(item(
                900_000_000_000_000_000 + i as u64,
                author,
                v["content"].as_str().unwrap(),
            ))
            .unwrap();
        clock.advance_ms(60_000);
    }
    store
        .record_edit(900_000_000_000_000_001, "edited <script>alert(1)</script>")
        .unwrap();
    store
        .delete_done(900_000_000_000_000_000, DeleteOutcome::Deleted)
        .unwrap();
    store
        .delete_done(900_000_000_000_000_001, DeleteOutcome::AlreadyGone)
        .unwrap();
    store
        .set_status(
            RecordId(1),
            Status::Confirmed,
            4242,
            Some("reported to police"),
        )
        .unwrap();
    store
        .put_setting(
            11,
            "sensitivity.insult",
            serde_json::json!("high"),
            Some(4242),
        )
        .unwrap();
    store.flush_blocking().unwrap();
    store
}

fn shieldbot(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shieldbot"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn full_export_round_trips_through_verify() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path());
    let pack = EvidencePack::build(&store, Selection::default()).unwrap();
    assert_eq!(pack.records.len(), 8);
    assert!(
        pack.chain.iter().filter(|l| l.entry.is_none()).count() == 1,
        "only the setting change is redacted"
    );
    let json = pack.to_json().unwrap();
    let report = verify_pack_json(&json).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.records, 8);
    assert_eq!(report.head_hash, store.chain_head().unwrap().hash_hex());

    let html = evidence_html::render(&pack);
    for section in [
        "id=\"summary\"",
        "id=\"timeline\"",
        "id=\"items\"",
        "id=\"chain\"",
        "https://discord.com/channels/11/22/900000000000000000",
        "reported to police",
        "by user 4242",
        "Account created",
    ] {
        assert!(html.contains(section), "missing {section}");
    }
    assert!(
        !html.contains("<script>") && html.contains("&lt;script&gt;"),
        "text must be escaped"
    );
    assert!(!html.contains("<b>author"), "names must be escaped");
}

#[test]
fn partial_export_redacts_others_and_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path());
    let author = 700_000_000_000_000_001;
    let pack = EvidencePack::build(
        &store,
        Selection {
            author_id: Some(author),
            ..Selection::default()
        },
    )
    .unwrap();
    assert!(pack.records.iter().all(|r| r.author_id == author));
    assert_eq!(pack.records.len(), 3);
    let json = pack.to_json().unwrap();
    // Other authors' text is not in the file.
    let other = store.get(RecordId(1)).unwrap().unwrap();
    assert!(!json.contains(&other.content));
    assert!(verify_pack_json(&json).unwrap().is_ok());
}

#[test]
fn one_changed_byte_in_an_export_is_detected_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path());
    let json = EvidencePack::build(&store, Selection::default())
        .unwrap()
        .to_json()
        .unwrap();

    // In a record's text (the records section comes first).
    let target = "We know where";
    let at = json.find(target).unwrap();
    let mut bytes = json.clone().into_bytes();
    bytes[at] = b'w';
    let report = verify_pack_json(std::str::from_utf8(&bytes).unwrap()).unwrap();
    let brk = report.first_break.expect("record change undetected");
    assert_eq!(brk.record_id, Some(RecordId(2)), "{brk}");

    // In the chain: the disclosed copy of the same text.
    let at = json.rfind(target).unwrap();
    let mut bytes = json.clone().into_bytes();
    bytes[at] = b'w';
    let brk = verify_pack_json(std::str::from_utf8(&bytes).unwrap())
        .unwrap()
        .first_break
        .unwrap();
    assert_eq!((brk.seq, brk.record_id), (2, Some(RecordId(2))), "{brk}");

    // In a hash.
    let pack: serde_json::Value = serde_json::from_str(&json).unwrap();
    let hash = pack["chain"][4]["hash"].as_str().unwrap();
    let flipped = format!(
        "{}{}",
        if hash.starts_with('0') { "1" } else { "0" },
        &hash[1..]
    );
    let tampered = json.replacen(hash, &flipped, 1);
    let brk = verify_pack_json(&tampered).unwrap().first_break.unwrap();
    assert_eq!(brk.seq, 5, "{brk}");
}

#[test]
fn cli_export_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let out = dir.path().join("out");
    drop(filled(&store_dir));
    let store_arg = store_dir.to_str().unwrap();

    let (ok, text) = shieldbot(&["verify", "--store", store_arg]);
    assert!(ok, "{text}");
    let (ok, text) = shieldbot(&[
        "export",
        "--store",
        store_arg,
        "--out",
        out.to_str().unwrap(),
        "--ids",
        "1,#2,3",
    ]);
    assert!(ok, "{text}");
    let json_path = out.join("evidence.json");
    assert!(out.join("evidence.html").exists());
    let (ok, text) = shieldbot(&["verify", json_path.to_str().unwrap()]);
    assert!(ok && text.contains("OK"), "{text}");

    // One byte changed in the exported file.
    let json = std::fs::read_to_string(&json_path).unwrap();
    let at = json.find("\"reported to police\"").unwrap() + 1;
    let mut bytes = json.into_bytes();
    bytes[at] = b'R';
    std::fs::write(&json_path, bytes).unwrap();
    let (ok, text) = shieldbot(&["verify", json_path.to_str().unwrap()]);
    assert!(!ok && text.contains("record #1"), "{text}");

    // Export after the store was used stays consistent (export itself is audited in the chain).
    let (ok, text) = shieldbot(&["verify", "--store", store_arg]);
    assert!(ok, "{text}");
    // Digest CLI over the same store.
    let (ok, text) = shieldbot(&["digest", "--store", store_arg, "--all", "--helpers"]);
    assert!(ok && text.contains("8 items"), "{text}");

    // One byte changed in the store: verify --store fails naming the record.
    {
        let store = Store::open(&store_dir).unwrap();
        let records = store.raw_db().open_tree("records").unwrap();
        let mut value = records.get(3u64.to_be_bytes()).unwrap().unwrap().to_vec();
        let i = value.len() / 2;
        value[i] ^= 0x20;
        records.insert(3u64.to_be_bytes(), value).unwrap();
        store.flush_blocking().unwrap();
    }
    let (ok, text) = shieldbot(&["verify", "--store", store_arg]);
    assert!(!ok && text.contains("record #3"), "{text}");
}
