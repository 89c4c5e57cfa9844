#!/usr/bin/env python3
"""Measure the whole check for variants of the shipped config (how docs/scorer.md's policy tables
were made).

    cargo build --release
    python3 tools/policy/grid.py '{"model_threat_factor": [0.6, 1.0], "category_abusive_gate": [0.45, 0.55]}'
    python3 tools/policy/grid.py '{"disguise_threshold_factor": [1.0, 0.6]}' data/corpus/validation
    python3 tools/policy/grid.py --jobs 2 '{"category_abusive_gate": [0.45, 0.55]}'

Each key is a key of config/shieldbot.toml (`[filter]`, `[filter.cascade]` or `[filter.policy]`;
the first line `key = ...` is replaced); every combination of the listed values is run through
`shieldbot eval --check SPLIT --config VARIANT` and printed with abuse removed, threats removed,
must-keep kept and criticism kept. SPLIT defaults to data/corpus/validation: choose on validation,
then measure the chosen config once on the test split. `--jobs N` runs N variants at once (each
`shieldbot eval` uses about one core); rows are printed in the grid's order. Standard library only.
"""
import concurrent.futures
import itertools
import json
import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SHIPPED = os.path.join(ROOT, "config", "shieldbot.toml")
# Beside the shipped config, so its relative model and rule-pack paths still resolve; one file
# per variant being measured.
VARIANT = os.path.join(ROOT, "config", ".grid-variant-{pid}-{n}.toml")
BINARY = os.path.join(ROOT, "target", "release", "shieldbot")


def variant_text(base, changes):
    text = base
    for key, value in changes.items():
        pattern = re.compile(rf"^{re.escape(key)} = .*$", re.M)
        if not pattern.search(text):
            sys.exit(f"{key}: no such line in config/shieldbot.toml")
        text = pattern.sub(f"{key} = {value}", text, count=1)
    return text


def measure(split, variant):
    out = subprocess.run([BINARY, "eval", "--check", split, "--config", variant],
                         capture_output=True, text=True, check=True).stdout
    def figure(pattern):
        found = re.search(pattern, out)
        return found.group(1) if found else "-"
    return (figure(r"abuse removed ([\d.]+)"), figure(r"threat\s+\d+ removed ([\d.]+)"),
            figure(r"must-keep kept ([\d.]+)"), figure(r"criticism\s+\d+ kept ([\d.]+)"))


def measure_variant(base, keys, values, n, split):
    """Write variant number `n`, measure it, remove it."""
    variant = VARIANT.format(pid=os.getpid(), n=n)
    try:
        with open(variant, "w", encoding="utf-8") as f:
            f.write(variant_text(base, dict(zip(keys, values))))
        return measure(split, variant)
    finally:
        if os.path.exists(variant):
            os.remove(variant)


def main():
    args = sys.argv[1:]
    jobs = 1
    if len(args) >= 2 and args[0] == "--jobs":
        jobs = max(1, int(args[1]))
        args = args[2:]
    if not args:
        sys.exit(__doc__)
    grid = json.loads(args[0])
    split = args[1] if len(args) > 1 else os.path.join(ROOT, "data", "corpus", "validation")
    base = open(SHIPPED, encoding="utf-8").read()
    keys = list(grid)
    combos = list(itertools.product(*(grid[k] for k in keys)))
    for values in combos:  # fail on a misspelt key before measuring anything
        variant_text(base, dict(zip(keys, values)))
    print("\t".join(keys + ["abuse", "threats", "kept", "criticism"]))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(measure_variant, base, keys, values, n, split)
                   for n, values in enumerate(combos)]
        for values, future in zip(combos, futures):
            print("\t".join([str(v) for v in values] + list(future.result())), flush=True)


if __name__ == "__main__":
    main()
