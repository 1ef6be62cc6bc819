#!/usr/bin/python3
"""NumPy reference for AUROC, AUPR, FPR95 and ECE (METHODS §6.4-§6.7) on random fixtures (float64).

Writes metrics_reference.json into the directory given as the first argument, by default
test/fixtures/metrics/. test/metrics/reference.test.ts compares runtime/metrics with the committed file and,
where numpy is installed, reruns this script to check that it reproduces the file.

Independent formulations on purpose: AUROC by counting all positive-negative pairs (ties count 1/2), AUPR
with sklearn's average-precision algorithm, FPR95 `closest` with the energy-OOD code's
`fpr_and_fdr_at_recall`, ECE with the left-closed bins [k/B, (k+1)/B) via searchsorted.
"""

import json
import os
import sys

import numpy as np

rng = np.random.default_rng(20240901)


def auroc_pairs(s, pos):
    p, n = s[pos], s[~pos]
    gt = (p[:, None] > n[None, :]).sum()
    eq = (p[:, None] == n[None, :]).sum()
    return float((gt + 0.5 * eq) / (len(p) * len(n)))


def curve(s, pos):
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], pos[order].astype(np.float64)
    distinct = np.where(np.diff(s))[0]
    idx = np.r_[distinct, len(s) - 1]
    tps = np.cumsum(y)[idx]
    fps = 1 + idx - tps
    return tps, fps, s[idx]


def aupr(s, pos):
    tps, fps, _ = curve(s, pos)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def fpr95_at_least(s, pos):
    tps, fps, _ = curve(s, pos)
    tpr = tps / pos.sum()
    k = np.argmax(tpr >= 0.95)
    return float(fps[k] / (~pos).sum())


def fpr95_closest(s, pos, recall_level=0.95):
    # fpr_and_fdr_at_recall from the energy-OOD code family (Liu et al. 2020, after Hendrycks et al.).
    tps, fps, thresholds = curve(s, pos)
    recall = tps / tps[-1]
    last_ind = tps.searchsorted(tps[-1])
    sl = slice(last_ind, None, -1)
    recall, fps = np.r_[recall[sl], 1], np.r_[fps[sl], 0]
    cutoff = np.argmin(np.abs(recall - recall_level))
    return float(fps[cutoff] / np.sum(~pos))


def ece(conf, correct, bins=15):
    edges = np.arange(bins + 1) / bins
    k = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = k == b
        if m.any():
            total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(total)


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def case_scores(n, ties):
    pos = rng.random(n) < rng.uniform(0.2, 0.8)
    pos[0], pos[1] = True, False
    s = rng.normal(size=n) + pos * rng.uniform(0.5, 2.0)
    s = np.round(s * 2) / 2 if ties else np.round(s, 6)
    return s, pos


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("test", "fixtures", "metrics")
    cases = []
    for i, (n, ties) in enumerate([(20, True), (50, False), (101, True), (300, False), (500, True), (1000, True)]):
        s, pos = case_scores(n, ties)
        cases.append(
            {
                "name": f"scores{i}-n{n}{'-ties' if ties else ''}",
                "scores": [float(v) for v in s],
                "positive": [int(v) for v in pos],
                "auroc": auroc_pairs(s, pos),
                "auroc_neg": auroc_pairs(-s, pos),
                "aupr": aupr(s, pos),
                "fpr95_atLeast": fpr95_at_least(s, pos),
                "fpr95_closest": fpr95_closest(s, pos),
            }
        )
    ece_cases = []
    for i, (n, c, batch) in enumerate([(40, 3, 8), (257, 10, 32), (1000, 5, 64)]):
        logits = np.round(rng.normal(size=(n, c)) * rng.uniform(0.5, 4), 4)
        labels = np.where(rng.random(n) < 0.6, logits.argmax(axis=1), rng.integers(0, c, size=n))
        p = softmax(logits)
        conf = p.max(axis=1)
        correct = (logits.argmax(axis=1) == labels).astype(np.float64)
        per_batch = [ece(conf[j : j + batch], correct[j : j + batch]) for j in range(0, n, batch)]
        ece_cases.append(
            {
                "name": f"ece{i}-n{n}-c{c}",
                "rows": n,
                "cols": c,
                "logits": [float(v) for v in logits.reshape(-1)],
                "labels": [int(v) for v in labels],
                "batch": batch,
                "ece_pooled": ece(conf, correct),
                "ece_perBatch": float(np.mean(per_batch)),
            }
        )
    with open(os.path.join(out_dir, "metrics_reference.json"), "w") as f:
        json.dump({"scores": cases, "ece": ece_cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
