"""The benchmark's baseline: the same MLP (784-128-64-10, ReLU, softmax + cross-entropy) and the
same Adam step at batch 128, written with NumPy (float32). Prints one JSON line.

    python3 numpy_mlp.py rows epochs [repeats]

One untimed run first (as the trainer's warm-up), then each repeat trains from the same initial
weights; samplesPerSecond is the median repeat."""
import json
import statistics
import sys
import time

import numpy as np

rows, epochs = int(sys.argv[1]), int(sys.argv[2])
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 1
rng = np.random.default_rng(7)
x = rng.random((rows, 784), dtype=np.float32)
y = rng.integers(0, 10, rows)
sizes = [784, 128, 64, 10]
initial = []
for i in range(3):
    limit = np.sqrt(6 / (sizes[i] + sizes[i + 1]))
    initial += [rng.uniform(-limit, limit, (sizes[i], sizes[i + 1])).astype(np.float32),
                np.zeros(sizes[i + 1], np.float32)]
lr, b1, b2, eps = 0.001, 0.9, 0.999, 1e-7
batch = 128


def train():
    params = [p.copy() for p in initial]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t = 0
    order_rng = np.random.default_rng(11)
    start = time.perf_counter()
    for _ in range(epochs):
        order = order_rng.permutation(rows)
        for s in range(0, rows, batch):
            idx = order[s:s + batch]
            xb, yb, n = x[idx], y[idx], len(idx)
            w1, c1, w2, c2, w3, c3 = params
            z1 = xb @ w1 + c1; a1 = np.maximum(z1, 0)
            z2 = a1 @ w2 + c2; a2 = np.maximum(z2, 0)
            z3 = a2 @ w3 + c3
            z3 -= z3.max(axis=1, keepdims=True)
            p = np.exp(z3); p /= p.sum(axis=1, keepdims=True)
            d3 = p; d3[np.arange(n), yb] -= 1; d3 /= n
            g = [None] * 6
            g[4] = a2.T @ d3; g[5] = d3.sum(0)
            d2 = (d3 @ w3.T) * (z2 > 0)
            g[2] = a1.T @ d2; g[3] = d2.sum(0)
            d1 = (d2 @ w2.T) * (z1 > 0)
            g[0] = xb.T @ d1; g[1] = d1.sum(0)
            t += 1
            for i in range(6):
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                mh = m[i] / (1 - b1 ** t); vh = v[i] / (1 - b2 ** t)
                params[i] -= (lr * mh / (np.sqrt(vh) + eps)).astype(np.float32)
    return time.perf_counter() - start


train()
times = [train() for _ in range(repeats)]
runs = [rows * epochs / seconds for seconds in times]
print(json.dumps({"samplesPerSecond": statistics.median(runs), "runs": runs,
                  "seconds": statistics.median(times), "numpy": np.__version__}))
