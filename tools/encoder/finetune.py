"""Fine-tunes all-MiniLM-L6-v2 into shieldbot's second-stage scorer and writes its model file.

The fast scorer (hashed n-grams, crates/shieldbot-core/src/scorer) judges every message; this
encoder re-reads only the messages the fast scorer is unsure about (the cascade in
crates/shieldbot-core/src/scorer/cascade.rs). It reads exactly what production reads: the
`folded` text written by `cargo run --release --example encoder_rows`, so normalisation lives
in Rust only.

Run through tools/encoder/train.sh (it pins the Python packages and fetches the base weights).

Training data: the corpus's train split (abusive + category heads) and OLID's training file
(offensive head; profanity from UNT; abusive from OFF-TIN-IND at half weight), without the
TweetEval validation tweets. Calibration and thresholds: corpus validation (abusive and
category heads) and TweetEval validation (offensive). The corpus test split and OLID's test set
are never read here.

The file format is documented in crates/shieldbot-core/src/scorer/encoder/file.rs.
"""

import argparse
import json
import math
import random
import struct
import sys
import time

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import BertModel, BertTokenizer

HEADS = ["abusive", "threat", "sexual", "identity", "insult", "selfharm", "doxxing",
         "profanity", "offensive"]
CATEGORIES = HEADS[1:7]
FORMAT = "shieldbot-encoder-1"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", required=True, help="JSON lines from the encoder_rows example")
    p.add_argument("--base", required=True, help="folder of the base all-MiniLM-L6-v2 model")
    p.add_argument("--out", required=True, help="the model file to write")
    p.add_argument("--reference", required=True, help="parity reference JSON lines to write")
    p.add_argument("--scores", help="write every row's encoder probabilities here (JSON lines)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=8e-5)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--corpus-weight", type=float, default=2.0)
    p.add_argument("--olid-abusive-weight", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--limit", type=int, default=0, help="train on the first N rows only (smoke)")
    return p.parse_args()


def targets(row, args):
    """(labels[9], mask[9], weight) for one training row; mask 0 = this source has no label."""
    y = [0.0] * len(HEADS)
    m = [0.0] * len(HEADS)
    if row["source"] == "corpus":
        y[0] = 1.0 if row["abuse"] else 0.0
        m[0] = 1.0
        for i, c in enumerate(CATEGORIES, start=1):
            y[i] = 1.0 if row["abuse"] and row["category"] == c else 0.0
            m[i] = 1.0
        return y, m, args.corpus_weight
    if row["source"] == "olid":
        off = bool(row["offensive"])
        y[8], m[8] = (1.0 if off else 0.0), 1.0
        if not off:
            y[7], m[7] = 0.0, 1.0
            y[0], m[0] = 0.0, args.olid_abusive_weight
        elif row.get("targeted") is False:
            y[7], m[7] = 1.0, 1.0
        elif row.get("target") == "IND":
            y[0], m[0] = 1.0, args.olid_abusive_weight
        return y, m, 1.0
    raise ValueError(f"no training labels for source {row['source']}")


class Scorer(torch.nn.Module):
    """BERT encoder, mean pooling over every token, one linear layer to the nine heads."""

    def __init__(self, base):
        super().__init__()
        self.bert = BertModel.from_pretrained(base, add_pooling_layer=False)
        self.head = torch.nn.Linear(self.bert.config.hidden_size, len(HEADS))

    def forward(self, ids, mask):
        hidden = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1)
        return self.head(pooled)


def batches(encoded, order, size):
    """Batches of similar length (less padding): shuffle, then sort within windows of 50."""
    window = size * 50
    out = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: len(encoded[i]))
        out.extend(chunk[i:i + size] for i in range(0, len(chunk), size))
    return out


def pad(encoded, idx):
    width = max(len(encoded[i]) for i in idx)
    ids = torch.zeros((len(idx), width), dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    for r, i in enumerate(idx):
        ids[r, :len(encoded[i])] = torch.tensor(encoded[i])
        mask[r, :len(encoded[i])] = 1
    return ids, mask


@torch.no_grad()
def logits_of(model, encoded, size=64):
    model.eval()
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    out = np.zeros((len(encoded), len(HEADS)), dtype=np.float32)
    for start in range(0, len(order), size):
        idx = order[start:start + size]
        ids, mask = pad(encoded, idx)
        out[idx] = model(ids, mask).numpy()
    return out


def platt(logits, labels):
    """Platt scaling by Newton's method: p = sigmoid(a * logit + b)."""
    a, b = 1.0, 0.0
    x, y = np.asarray(logits, np.float64), np.asarray(labels, np.float64)
    # Platt's smoothed targets keep a and b finite when the classes separate.
    pos, neg = y.sum(), len(y) - y.sum()
    t = np.where(y > 0, (pos + 1) / (pos + 2), 1 / (neg + 2))
    for _ in range(100):
        p = 1 / (1 + np.exp(-(a * x + b)))
        g = np.array([((p - t) * x).sum(), (p - t).sum()])
        w = p * (1 - p) + 1e-12
        h = np.array([[(w * x * x).sum(), (w * x).sum()], [(w * x).sum(), w.sum()]])
        step = np.linalg.solve(h + 1e-9 * np.eye(2), g)
        a, b = a - step[0], b - step[1]
        if abs(step).max() < 1e-9:
            break
    return float(a), float(b)


def best_threshold(probs, labels, macro):
    """The probability threshold with the best F1 (macro-F1 over both classes if `macro`)."""
    best, best_t = -1.0, 0.5
    for t in np.arange(0.02, 0.99, 0.01):
        pred = probs >= t
        f = f1(pred, labels)
        if macro:
            f = (f + f1(~pred, ~labels)) / 2
        if f > best:
            best, best_t = f, float(t)
    return best_t, best


def f1(pred, labels):
    tp = float((pred & labels).sum())
    fp = float((pred & ~labels).sum())
    fn = float((~pred & labels).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def auc(scores, labels):
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels.sum()
    neg = len(labels) - pos
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def quantise_rows(weight):
    """Symmetric int8 per output row: w = q * scale[row]."""
    w = weight.detach().float()
    scale = w.abs().amax(dim=1).clamp(min=1e-12) / 127.0
    q = torch.round(w / scale.unsqueeze(1)).clamp(-127, 127).to(torch.int8)
    return q.contiguous(), scale.contiguous()


def export(model, tokenizer, args, calibration, path):
    """Writes the model file and loads the dequantised weights back into `model`, so that the
    reference outputs are those of the int8 weights Rust will read."""
    bert = model.bert
    tensors = {}

    def linear(name, layer):
        q, s = quantise_rows(layer.weight)
        tensors[f"{name}.q"], tensors[f"{name}.scale"] = q, s
        tensors[f"{name}.bias"] = layer.bias.detach().float().contiguous()
        with torch.no_grad():
            layer.weight.copy_(q.float() * s.unsqueeze(1))

    emb = bert.embeddings
    q, s = quantise_rows(emb.word_embeddings.weight)
    tensors["emb.word.q"], tensors["emb.word.scale"] = q, s
    with torch.no_grad():
        emb.word_embeddings.weight.copy_(q.float() * s.unsqueeze(1))
    tensors["emb.position"] = emb.position_embeddings.weight[:args.max_tokens].detach().contiguous()
    tensors["emb.token_type"] = emb.token_type_embeddings.weight[0].detach().contiguous()
    tensors["emb.ln.weight"] = emb.LayerNorm.weight.detach().contiguous()
    tensors["emb.ln.bias"] = emb.LayerNorm.bias.detach().contiguous()
    for i, layer in enumerate(bert.encoder.layer):
        att = layer.attention
        linear(f"layer.{i}.attn.q", att.self.query)
        linear(f"layer.{i}.attn.k", att.self.key)
        linear(f"layer.{i}.attn.v", att.self.value)
        linear(f"layer.{i}.attn.out", att.output.dense)
        linear(f"layer.{i}.ffn.up", layer.intermediate.dense)
        linear(f"layer.{i}.ffn.down", layer.output.dense)
        tensors[f"layer.{i}.attn_ln.weight"] = att.output.LayerNorm.weight.detach().contiguous()
        tensors[f"layer.{i}.attn_ln.bias"] = att.output.LayerNorm.bias.detach().contiguous()
        tensors[f"layer.{i}.ffn_ln.weight"] = layer.output.LayerNorm.weight.detach().contiguous()
        tensors[f"layer.{i}.ffn_ln.bias"] = layer.output.LayerNorm.bias.detach().contiguous()
    tensors["head.weight"] = model.head.weight.detach().contiguous()
    tensors["head.bias"] = model.head.bias.detach().contiguous()
    c = bert.config
    config = {
        "hidden": c.hidden_size, "layers": c.num_hidden_layers,
        "heads": c.num_attention_heads, "intermediate": c.intermediate_size,
        "max_tokens": args.max_tokens, "layer_norm_eps": c.layer_norm_eps,
        "head_names": HEADS, **calibration,
    }
    vocab = [t for t, _ in sorted(tokenizer.vocab.items(), key=lambda kv: kv[1])]
    metadata = {"format": FORMAT, "config": json.dumps(config), "vocab": "\n".join(vocab)}
    save_file(tensors, path, metadata=metadata)
    canonicalise_header(path)


def canonicalise_header(path):
    """Rewrites the safetensors header with sorted keys. `save_file` writes the metadata in
    hash-map order, which changes from run to run; sorted, the same weights give the same
    bytes. Same length (padded with spaces, as the format allows), so data offsets hold."""
    with open(path, "r+b") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        canonical = json.dumps(header, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False).encode()
        if len(canonical) > size:
            raise ValueError("the canonical header is longer than the original")
        f.seek(8)
        f.write(canonical + b" " * (size - len(canonical)))


def main():
    args = parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)

    rows = [json.loads(line) for line in open(args.rows, encoding="utf-8")]
    tokenizer = BertTokenizer.from_pretrained(args.base)

    def encode(text):
        ids = tokenizer.encode(text, add_special_tokens=False)[:args.max_tokens - 2]
        return [tokenizer.cls_token_id] + ids + [tokenizer.sep_token_id]

    for row in rows:
        row["ids"] = encode(row["folded"])
    train = [r for r in rows if r["split"] == "train"]
    if args.limit:
        rng = random.Random(args.seed)
        rng.shuffle(train)
        train = train[:args.limit]
    labelled = [targets(r, args) for r in train]
    y = torch.tensor([t[0] for t in labelled])
    m = torch.tensor([t[1] for t in labelled])
    w = torch.tensor([t[2] for t in labelled])
    encoded = [r["ids"] for r in train]
    corpus_val = [r for r in rows if r["source"] == "corpus" and r["split"] == "validation"]
    tweet_val = [r for r in rows if r["source"] == "tweeteval"]

    model = Scorer(args.base)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps = args.epochs * math.ceil(len(train) / args.batch)
    warmup = max(1, steps // 16)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup))))
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    rng = random.Random(args.seed)
    step = 0
    started = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = list(range(len(train)))
        rng.shuffle(order)
        plan = batches(encoded, order, args.batch)
        rng.shuffle(plan)
        for idx in plan:
            ids, mask = pad(encoded, idx)
            logits = model(ids, mask)
            weight = m[idx] * w[idx].unsqueeze(1)
            loss = (loss_fn(logits, y[idx]) * weight).sum() / weight.sum().clamp(min=1)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            step += 1
            if step % 50 == 0:
                print(f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.4f} "
                      f"{time.time() - started:.0f}s", file=sys.stderr, flush=True)
        report(model, corpus_val, tweet_val, f"after epoch {epoch + 1}")

    # Calibration on validation data only.
    val_logits = logits_of(model, [r["ids"] for r in corpus_val])
    tweet_logits = logits_of(model, [r["ids"] for r in tweet_val])
    abuse = np.array([r["abuse"] for r in corpus_val])
    platt_a, platt_b, thresholds = [], [], []
    for h, name in enumerate(HEADS):
        if name == "offensive":
            labels = np.array([bool(r["offensive"]) for r in tweet_val])
            x = tweet_logits[:, h]
        elif name == "profanity":
            platt_a.append(1.0), platt_b.append(0.0), thresholds.append(0.5)
            continue
        elif name == "abusive":
            labels, x = abuse, val_logits[:, h]
        else:
            labels = np.array([bool(r["abuse"]) and r["category"] == name for r in corpus_val])
            x = val_logits[:, h]
        a, b = platt(x, labels)
        probs = 1 / (1 + np.exp(-(a * x + b)))
        t, f = best_threshold(probs, labels, macro=name in ("abusive", "offensive"))
        print(f"{name}: platt a={a:.3f} b={b:.3f} threshold {t:.2f} (validation F1 {f:.3f})",
              file=sys.stderr)
        platt_a.append(a), platt_b.append(b), thresholds.append(t)
    calibration = {"platt_a": platt_a, "platt_b": platt_b, "thresholds": thresholds}

    export(model, tokenizer, args, calibration, args.out)
    report(model, corpus_val, tweet_val, "int8 weights")
    write_reference(model, rows, args)
    if args.scores:
        all_logits = logits_of(model, [r["ids"] for r in rows])
        with open(args.scores, "w", encoding="utf-8") as f:
            for r, lg in zip(rows, all_logits):
                p = 1 / (1 + np.exp(-(np.array(platt_a) * lg + np.array(platt_b))))
                keep = {k: r[k] for k in ("source", "split", "abuse", "category", "kind",
                                          "offensive", "file", "fast") if k in r}
                keep["encoder"] = [float(v) for v in p]
                f.write(json.dumps(keep) + "\n")


def report(model, corpus_val, tweet_val, when):
    lg = logits_of(model, [r["ids"] for r in corpus_val])
    abuse = np.array([r["abuse"] for r in corpus_val])
    threat = np.array([r["category"] == "threat" for r in corpus_val])
    tl = logits_of(model, [r["ids"] for r in tweet_val])
    off = np.array([bool(r["offensive"]) for r in tweet_val])
    _, tweet_f1 = best_threshold(1 / (1 + np.exp(-tl[:, 8])), off, macro=True)
    print(f"{when}: corpus validation abusive AUC {auc(lg[:, 0], abuse):.4f}, threat AUC "
          f"{auc(lg[:, 1], threat):.4f}; TweetEval validation offensive AUC "
          f"{auc(tl[:, 8], off):.4f}, best macro-F1 {tweet_f1:.3f}", file=sys.stderr, flush=True)


def write_reference(model, rows, args):
    """Texts and the int8 model's logits for tests/encoder_parity.rs: a spread of corpus and
    tweet rows (every 97th row). Hostile and Unicode edge cases are checked separately by
    crates/shieldbot-core/tests/data/encoder_tokenizer_cases.jsonl."""
    picked = rows[::97]
    with open(args.reference, "w", encoding="utf-8") as f:
        lg = logits_of(model, [r["ids"] for r in picked])
        for r, l in zip(picked, lg):
            f.write(json.dumps({"text": r["folded"], "ids": r["ids"],
                                "logits": [float(v) for v in l]}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
