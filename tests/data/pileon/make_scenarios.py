#!/usr/bin/env python3
"""Writes the pile-on defence scenarios (config/scenarios/quiet-day.jsonl, pile-on.jsonl,
manual-shieldup.jsonl) from the line files next to this script. Deterministic (fixed seed):
re-running it gives the same files. Run from the repository root:

    python3 tests/data/pileon/make_scenarios.py

Each line carries, besides the scenario format's fields, a `role` (regular, newcomer, pileon,
troll, helper) that tests/pileon_scenarios.rs reads; unknown fields are ignored by the bot.
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "..", "config", "scenarios")
MIN = 60_000


def lines(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


REGULAR = lines("regular_lines.txt")
NEWCOMER = lines("newcomer_lines.txt")
PILE_ON = lines("pile_on_lines.txt")
REGULARS = [
    ("regular_rosa", 2100, 700), ("regular_tom", 1500, 400), ("critic_kev", 900, 200),
    ("critic_jan", 3000, 900), ("fan_ali", 800, 120), ("local_priya", 1200, 300),
    ("cllr_dave", 2500, 1000), ("mum_of_three", 600, 90), ("bus_user_sam", 1800, 500),
    ("retired_teacher", 2900, 800), ("student_lee", 400, 60), ("farmer_joe", 3500, 1200),
]


def regular(rng, at_ms):
    name, age, member = rng.choice(REGULARS)
    return {
        "author": name, "content": rng.choice(REGULAR),
        "mentions_protected": rng.random() < 0.7, "reply_to_protected": True,
        "author_account_age_days": age, "member_for_days": member,
        "at_ms": at_ms, "role": "regular", "expect": "keep",
    }


def newcomer(rng, n, at_ms, expect):
    return {
        "author": f"newcomer_{n:02}", "content": rng.choice(NEWCOMER),
        "mentions_protected": True, "author_account_age_days": round(rng.uniform(0, 2), 2),
        "member_for_days": 0, "at_ms": at_ms, "role": "newcomer", "expect": expect,
    }


def write(name, messages):
    messages.sort(key=lambda m: m["at_ms"])
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        for m in messages:
            f.write(json.dumps(m, ensure_ascii=False) + "\n")


def quiet_day():
    """Eight hours of ordinary traffic: regulars every few minutes, a lively ten minutes after a
    speech, three newcomers asking questions, one troll. No shield-up; nothing held from
    regulars or newcomers."""
    rng = random.Random(8001)
    messages = []
    t = 0
    while t < 8 * 60 * MIN:
        messages.append(regular(rng, t))
        t += rng.randint(2 * MIN, 9 * MIN)
    # After the evening speech: every regular replies within ten minutes.
    for i, (name, age, member) in enumerate(REGULARS):
        m = regular(rng, 5 * 60 * MIN + i * 50_000 + rng.randint(0, 20_000))
        m.update(author=name, author_account_age_days=age, member_for_days=member)
        messages.append(m)
    for n, hour in enumerate([1, 3, 6]):
        messages.append(newcomer(rng, n, hour * 60 * MIN + rng.randint(0, 30 * MIN), "keep"))
    messages.append({
        "author": "lone_troll", "content": "kys", "mentions_protected": True,
        "author_account_age_days": 1, "member_for_days": 0, "at_ms": 4 * 60 * MIN + 7 * MIN,
        "role": "troll", "expect": "remove",
    })
    write("quiet-day.jsonl", messages)


def pile_on():
    """Half an hour of ordinary traffic, then an hour in which 600 messages from ~400 fresh
    accounts pile on (one every ~6 s), with regulars still replying; then an hour of ordinary
    traffic. Shield-up must rise within the first minute of the spike and expire afterwards."""
    rng = random.Random(8002)
    messages = []
    t = 0
    while t < 150 * MIN:
        messages.append(regular(rng, t))
        gap = (1 * MIN, 3 * MIN) if 30 * MIN <= t < 90 * MIN else (2 * MIN, 5 * MIN)
        t += rng.randint(*gap)
    spike_start = 30 * MIN
    accounts = [f"raider_{i:03}" for i in range(400)]
    for i in range(600):
        author = accounts[i] if i < 400 else rng.choice(accounts)
        messages.append({
            "author": author, "content": rng.choice(PILE_ON),
            "mentions_protected": True, "reply_to_protected": rng.random() < 0.3,
            "author_account_age_days": round(rng.uniform(0, 3), 2), "member_for_days": 0,
            "at_ms": spike_start + i * 6_000 + rng.randint(0, 5_999), "role": "pileon",
        })
    write("pile-on.jsonl", messages)


def manual_shieldup():
    """Two hours: regulars, and a newcomer every ~5 minutes. A helper raises the shield by hand
    for 30 minutes at 0:40 (newcomers held until 1:10, regulars untouched), raises it again at
    1:30 and lowers it at 1:45."""
    rng = random.Random(8003)
    messages = []
    t = 0
    while t < 120 * MIN:
        messages.append(regular(rng, t))
        t += rng.randint(2 * MIN, 6 * MIN)
    n = 0
    t = 2 * MIN
    while t < 120 * MIN:
        held = 40 * MIN < t < 70 * MIN or 90 * MIN < t < 105 * MIN
        messages.append(newcomer(rng, n, t, "remove" if held else "keep"))
        n += 1
        t += rng.randint(4 * MIN, 6 * MIN)
    for at, action, minutes, note in [
        (40 * MIN, "shieldup", 30, "/shield shieldup 30m"),
        (90 * MIN, "shieldup", 60, "/shield shieldup 1h"),
        (105 * MIN, "shielddown", None, "/shield shielddown"),
    ]:
        line = {"author": "helper_hana", "content": note, "helper_action": action,
                "at_ms": at, "role": "helper"}
        if minutes:
            line["duration_minutes"] = minutes
        messages.append(line)
    write("manual-shieldup.jsonl", messages)


if __name__ == "__main__":
    quiet_day()
    pile_on()
    manual_shieldup()
