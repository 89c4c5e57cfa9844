//! `shieldbot train` and `shieldbot eval` end to end: determinism, bad input named by line or
//! file. The training data here is synthetic (made-up tokens), so no abusive text is needed.

use std::path::Path;
use std::process::Command;

fn shieldbot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shieldbot"))
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A tiny data folder in the layout `shieldbot train` reads.
fn tiny_data(root: &Path) {
    let p = root.join("public");
    let mut olid = String::from("id\ttweet\tsubtask_a\tsubtask_b\tsubtask_c\n");
    let mut val_text = String::new();
    let mut val_labels = String::new();
    for i in 0..60 {
        let (text, a, b, c) = match i % 3 {
            0 => (format!("@USER zorblat grunk {i}"), "OFF", "TIN", "IND"),
            1 => (
                format!("@USER lovely policy speech {i}"),
                "NOT",
                "NULL",
                "NULL",
            ),
            _ => (format!("@USER blargh frump {i}"), "OFF", "UNT", "NULL"),
        };
        olid.push_str(&format!("{i}\t{text}\t{a}\t{b}\t{c}\n"));
        if i % 5 == 0 {
            val_text.push_str(&format!("{}\n", text.replace("@USER", "@user")));
            val_labels.push_str(if a == "OFF" { "1\n" } else { "0\n" });
        }
    }
    write(&p.join("olid/olid-training-v1.0.tsv"), &olid);
    write(&p.join("tweeteval-offensive/val_text.txt"), &val_text);
    write(&p.join("tweeteval-offensive/val_labels.txt"), &val_labels);
    for split in ["train", "val"] {
        write(
            &p.join(format!("tweeteval-hate/{split}_text.txt")),
            "quux group a\nnice day b\n",
        );
        write(
            &p.join(format!("tweeteval-hate/{split}_labels.txt")),
            "1\n0\n",
        );
    }
    write(
        &p.join("davidson/labeled_data.csv"),
        ",count,hate_speech,offensive_language,neither,class,tweet\n0,3,0,0,3,2,\"a calm, quiet day\"\n1,3,0,3,0,1,blargh frump\n",
    );
    write(
        &root.join("corpus/train/a.tsv"),
        "label\tcategory\tseverity\tdodge\ttarget\ttext\nabuse\tthreat\t3\tnone\tpolitician\tflibber at the gate\nkeep\tcriticism\t0\tnone\tpolitician\tyour budget is wrong\n",
    );
}

#[test]
fn train_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    tiny_data(&dir.path().join("data"));
    let run = |out: &str| {
        let status = shieldbot()
            .args(["train", "--quiet", "--epochs", "2", "--seed", "5", "--data"])
            .arg(dir.path().join("data"))
            .arg("--out")
            .arg(dir.path().join(out))
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        std::fs::read(dir.path().join(out)).unwrap()
    };
    let a = run("a.model");
    let b = run("b.model");
    assert_eq!(a, b);
    // The model it wrote is readable by eval.
    let eval = shieldbot()
        .arg("eval")
        .arg(dir.path().join("data/corpus/train/a.tsv"))
        .arg("--model")
        .arg(dir.path().join("a.model"))
        .output()
        .unwrap();
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    let out = String::from_utf8_lossy(&eval.stdout);
    assert!(out.contains("macro-F1") && out.contains("ROC-AUC"), "{out}");
}

#[test]
fn eval_names_the_malformed_line() {
    let dir = tempfile::tempdir().unwrap();
    tiny_data(&dir.path().join("data"));
    let model = dir.path().join("m.model");
    let ok = shieldbot()
        .args(["train", "--quiet", "--epochs", "1", "--data"])
        .arg(dir.path().join("data"))
        .arg("--out")
        .arg(&model)
        .status()
        .unwrap();
    assert!(ok.success());
    let file = dir.path().join("bad.tsv");
    write(&file, "1\tfine\n0\talso fine\nno tab on this line\n");
    let out = shieldbot()
        .arg("eval")
        .arg(&file)
        .arg("--model")
        .arg(&model)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3") && err.contains("bad.tsv"), "{err}");
}

#[test]
fn missing_or_corrupt_model_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.tsv");
    write(&file, "1\tsomething\n0\tother\n");
    let missing = dir.path().join("nowhere.model");
    let out = shieldbot()
        .arg("eval")
        .arg(&file)
        .arg("--model")
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere.model"));

    let corrupt = dir.path().join("corrupt.model");
    let shipped =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(shieldbot::model_file::DEFAULT_MODEL_PATH);
    std::fs::write(&corrupt, &std::fs::read(shipped).unwrap()[..1000]).unwrap();
    let out = shieldbot()
        .arg("eval")
        .arg(&file)
        .arg("--model")
        .arg(&corrupt)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("corrupt.model") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn the_shipped_model_loads() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(shieldbot::model_file::DEFAULT_MODEL_PATH);
    let model = shieldbot::model_file::load_model(&path).unwrap();
    assert!(model.memory_bytes() < 32 * 1024 * 1024);
}

#[test]
fn check_uses_the_shipped_model_by_default() {
    use std::io::Write;
    let mut child = shieldbot()
        .args(["check", "--jsonl"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"thanks for the great speech at the conference today\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["verdict"], "allow");
    // Rules alone score a harmless message 0; the model gives a small calibrated probability.
    let score = line["score"].as_f64().unwrap();
    assert!(score > 0.0 && score < 0.5, "{score}");
}

#[test]
fn eval_measures_the_olid_test_set_as_published() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = shieldbot()
        .current_dir(root)
        .args([
            "eval",
            "--olid-test",
            "data/public/olid-test",
            "--head",
            "offensive",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // OLID's published test split: 240 OFF and 620 NOT tweets, 100 of them OFF/TIN/IND.
    assert!(
        stdout.contains("messages 860 (positive 240, negative 620)"),
        "{stdout}"
    );
    // The figure after `prefix` on the first line that contains `marker`.
    let number_after = |marker: &str, prefix: &str| -> f64 {
        let line = stdout.lines().find(|l| l.contains(marker)).unwrap();
        let rest = &line[line.find(prefix).unwrap() + prefix.len()..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    let macro_f1 = number_after("macro-F1 ", "macro-F1 ");
    assert!((0.0..=1.0).contains(&macro_f1), "{stdout}");
    let individual = number_after("OFF/TIN/IND", "recall ");
    assert!((0.0..=1.0).contains(&individual), "{stdout}");
    assert!(stdout.contains("of 100)"), "{stdout}");
}

#[test]
fn eval_into_a_reader_that_stopped_early_ends_quietly() {
    // As `shieldbot eval ... | head -1`: the reading end is closed before the report is written.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("labelled.tsv");
    write(&file, "1\tzorblat grunk\n0\tlovely policy speech\n");
    let mut child = shieldbot()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("eval")
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "{:?}: {err}", out.status);
}
