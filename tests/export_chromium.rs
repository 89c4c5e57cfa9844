//! The evidence report opened in a real browser: headless Chromium renders the exported HTML;
//! its DOM (after rendering) must hold the report's key sections and the evidence itself, and its
//! screenshot must be a real page (decoded here, not just a file that exists).
//!
//! Chromium is not a Rust dependency: `.ci/run` installs it (Debian package `chromium`). Where it
//! is absent the test prints that it skipped and passes.

mod support;

use shieldbot::clock::ManualClock;
use shieldbot::store::evidence::{EvidencePack, Selection};
use shieldbot::store::{evidence_html, NewQuarantine, RecordId, Status, Store};
use shieldbot_core::verdict::{Reason, ReasonSource};
use shieldbot_core::{Category, Severity};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use support::records::verdict;

const T0: i64 = 1_760_000_000_000;

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let out = Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .ok()?;
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (out.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
        })
}

/// Texts from the digest test data (abusive text lives in data files, not in code).
fn texts() -> Vec<(String, Category, bool)> {
    let lines = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/digest_singles.jsonl"
    ))
    .unwrap();
    lines
        .lines()
        .take(6)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let category = serde_json::from_value(v["category"].clone()).unwrap();
            (
                v["content"].as_str().unwrap().to_string(),
                category,
                v["escalate"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn filled(dir: &Path) -> (Store, Vec<String>) {
    let clock = ManualClock::new(T0);
    let store = Store::open_with_clock(dir, Arc::new(clock.clone())).unwrap();
    let mut contents = Vec::new();
    for (i, (content, category, escalate)) in texts().into_iter().enumerate() {
        let reasons = vec![Reason {
            source: ReasonSource::Model { probability: 0.9 },
            category,
            severity: Severity::HIGH,
            span: None,
            quote: None,
            detail: format!("{category} model"),
        }];
        let verdict = verdict(escalate, category, Severity::HIGH, reasons);
        store
            .quarantine(NewQuarantine {
                guild_id: 11,
                channel_id: 22,
                message_id: 900_000_000_000_000_000 + i as u64,
                author_id: 700_000_000_000_000_000 + i as u64,
                author_name: format!("author_{i}"),
                member_joined_ms: Some(T0 - 86_400_000),
                target_user_ids: vec![33],
                content: content.clone(),
                attachment_urls: vec![],
                edits: vec![],
                verdict,
                scores: [(category, 0.9_f32)].into_iter().collect(),
            })
            .unwrap();
        contents.push(content);
        clock.advance_ms(60_000);
    }
    store
        .set_status(RecordId(1), Status::Confirmed, 4242, Some("reported"))
        .unwrap();
    store.flush_blocking().unwrap();
    (store, contents)
}

fn run_chromium(browser: &Path, profile: &Path, extra: &[String], page: &Path) -> Vec<u8> {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Decoded 8-bit RGB(A) pixels of a PNG: (width, height, channels, pixels row by row).
fn decode_png(bytes: &[u8]) -> (usize, usize, usize, Vec<u8>) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let mut pos = 8;
    let (mut width, mut height, mut channels) = (0usize, 0usize, 0usize);
    let mut idat = Vec::new();
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                assert_eq!(data[8], 8, "8-bit depth expected");
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("colour type {other} not expected from chromium"),
                };
                assert_eq!(data[12], 0, "interlaced PNG not expected");
            }
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        pos += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = width * channels;
    assert_eq!(raw.len(), height * (stride + 1), "truncated image data");
    let mut pixels = vec![0u8; height * stride];
    for y in 0..height {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= channels {
                pixels[y * stride + x - channels]
            } else {
                0
            };
            let b = if y > 0 {
                pixels[(y - 1) * stride + x]
            } else {
                0
            };
            let c = if x >= channels && y > 0 {
                pixels[(y - 1) * stride + x - channels]
            } else {
                0
            };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                other => panic!("bad PNG filter {other}"),
            };
            pixels[y * stride + x] = line[x].wrapping_add(predicted);
        }
    }
    (width, height, channels, pixels)
}

#[test]
fn the_evidence_report_renders_in_headless_chromium_with_its_key_sections() {
    let Some(browser) = chromium() else {
        println!(
            "SKIPPED: chromium is not installed (apt-get install -y chromium); .ci/run installs it"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, contents) = filled(&dir.path().join("store"));
    let pack = EvidencePack::build(&store, Selection::default()).unwrap();
    let head = pack.head.hash.clone();
    let page = dir.path().join("evidence.html");
    std::fs::write(&page, evidence_html::render(&pack)).unwrap();

    // The DOM after Chromium parsed and laid out the report.
    let dom = String::from_utf8(run_chromium(
        &browser,
        &dir.path().join("profile-dom"),
        &["--dump-dom".to_string()],
        &page,
    ))
    .unwrap();
    for section in [
        "id=\"summary\"",
        "id=\"timeline\"",
        "id=\"items\"",
        "id=\"chain\"",
    ] {
        assert!(
            dom.contains(section),
            "section {section} missing from the rendered DOM"
        );
    }
    for heading in ["Summary", "Timeline", "Items", "Hash chain"] {
        assert!(dom.contains(&format!("<h2>{heading}</h2>")), "{heading}");
    }
    let escaped = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    for content in &contents {
        assert!(
            dom.contains(&escaped(content)),
            "message text missing: {content}"
        );
    }
    assert!(dom.contains("700000000000000000"), "author id missing");
    assert!(dom.contains(&head), "chain head hash missing");
    assert!(!dom.contains("<script"), "the report must carry no script");

    // The screenshot: a real, mostly-light page with a substantial amount of dark ink (text).
    let shot = dir.path().join("report.png");
    run_chromium(
        &browser,
        &dir.path().join("profile-shot"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".to_string(),
        ],
        &page,
    );
    let (width, height, channels, pixels) = decode_png(&std::fs::read(&shot).unwrap());
    assert_eq!((width, height), (1280, 2000));
    let total = width * height;
    let dark = pixels
        .chunks(channels)
        .filter(|p| u16::from(p[0]) + u16::from(p[1]) + u16::from(p[2]) < 3 * 128)
        .count();
    let distinct: std::collections::HashSet<&[u8]> = pixels.chunks(channels).collect();
    println!(
        "screenshot {width}x{height}: {dark} dark pixels ({:.2}%), {} colours",
        100.0 * dark as f64 / total as f64,
        distinct.len()
    );
    assert!(
        dark * 200 > total,
        "under 0.5% of the page is ink: the report did not render"
    );
    assert!(dark * 2 < total, "the page is mostly dark: not the report");
    assert!(distinct.len() > 16, "a flat image, not a rendered page");
}
