#!/usr/bin/env python3
"""Reference values for src/rec/rec-metrics.ts, by an implementation independent of pmg's TypeScript.

- AUC follows scikit-learn's roc_auc_score arithmetic for binary labels (sklearn/metrics/_ranking.py:
  _binary_clf_curve / confusion_matrix_at_thresholds, roc_curve, auc): rows sorted by descending score (stable
  mergesort on the reversed order), one ROC point per distinct score (the last index of each run of equal scores),
  cumulative weighted true/false positives at those points, a (0, 0) point prepended, fpr = fps / fps[-1],
  tpr = tps / tps[-1], area by the trapezoid rule. sample_weight multiplies each row's contribution. Written here
  with numpy only (no sklearn on this machine).
- log loss: mean of -[y log p + (1 - y) log(1 - p)] with p clipped to [1e-7, 1 - 1e-7].
- GAUC: the AUC above per user over users whose rows hold both labels, averaged with the users' row counts as weights.
- Recall@K / NDCG@K, textbook: per user, rows ranked by descending score, ties broken pessimistically (negatives
  before positives, then by row index); recall = hits in top K / relevant; DCG = sum over relevant rows in the top K
  of 1 / log2(rank + 1); IDCG = the same for min(K, relevant) relevant rows at ranks 1..; averaged over users with at
  least one relevant row.

Run: /usr/bin/python3 -P scripts/reference/rec_metrics.py   (writes src/rec/reference/rec-metrics.json)
"""
import datetime
import json
import math
import os
import sys

import numpy as np


def sk_auc(y, s, w=None):
    y = np.asarray(y, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=np.float64)
    order = np.argsort(s, kind="mergesort")[::-1]
    s, y, w = s[order], y[order], w[order]
    distinct = np.where(np.diff(s))[0]
    threshold_idxs = np.r_[distinct, y.size - 1]
    tps = np.cumsum(y * w)[threshold_idxs]
    fps = np.cumsum((1 - y) * w)[threshold_idxs]
    tps = np.r_[0.0, tps]
    fps = np.r_[0.0, fps]
    if fps[-1] <= 0 or tps[-1] <= 0:
        return None
    fpr = fps / fps[-1]
    tpr = tps / tps[-1]
    return float(np.trapz(tpr, fpr))


def log_loss(y, p, eps=1e-7):
    p = np.clip(np.asarray(p, dtype=np.float64), eps, 1 - eps)
    y = np.asarray(y, dtype=np.float64)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def gauc(y, s, users):
    total, weight = 0.0, 0.0
    for u in sorted(set(users)):
        idx = [i for i, v in enumerate(users) if v == u]
        a = sk_auc([y[i] for i in idx], [s[i] for i in idx])
        if a is None:
            continue
        total += len(idx) * a
        weight += len(idx)
    return total / weight if weight else None


def ranking(y, s, users, k):
    recalls, ndcgs = [], []
    for u in sorted(set(users)):
        idx = [i for i, v in enumerate(users) if v == u]
        relevant = sum(y[i] for i in idx)
        if relevant == 0:
            continue
        ranked = sorted(idx, key=lambda i: (-s[i], y[i], i))
        top = ranked[:k]
        hits = sum(y[i] for i in top)
        dcg = sum(1.0 / math.log2(r + 2) for r, i in enumerate(top) if y[i] == 1)
        idcg = sum(1.0 / math.log2(r + 2) for r in range(min(k, relevant)))
        recalls.append(hits / relevant)
        ndcgs.append(dcg / idcg)
    return (float(np.mean(recalls)), float(np.mean(ndcgs))) if recalls else (None, None)


def case(name, labels, scores, users, weights):
    out = {"name": name, "labels": labels, "scores": scores, "users": users, "weights": weights}
    out["auc"] = sk_auc(labels, scores)
    out["weightedAuc"] = sk_auc(labels, scores, weights)
    out["logLoss"] = log_loss(labels, scores)
    out["gauc"] = gauc(labels, scores, users)
    for k in (1, 3, 5):
        r, n = ranking(labels, scores, users, k)
        out["recallAt%d" % k] = r
        out["ndcgAt%d" % k] = n
    return out


rng = np.random.RandomState(20261201)
cases = [
    case(
        "hand, ties across labels",
        [1, 0, 1, 0, 0, 1, 1, 0],
        [0.9, 0.9, 0.5, 0.5, 0.5, 0.2, 0.8, 0.1],
        [0, 0, 0, 0, 1, 1, 1, 1],
        [1, 2, 0, 1, 3, 1, 1, 2],
    ),
    case("all scores equal", [1, 0, 0, 1, 0], [0.5] * 5, [0, 0, 1, 1, 1], [1, 1, 2, 0, 1]),
    case("probabilities 0 and 1 (log loss clipping)", [1, 0, 1, 0], [1.0, 0.0, 0.0, 1.0], [0, 0, 1, 1], [1, 1, 1, 1]),
]
n = 300
scores = np.round(rng.rand(n), 1)  # many ties
labels = (rng.rand(n) < 0.25 + 0.5 * scores).astype(int)
users = rng.randint(0, 12, size=n)
weights = rng.randint(0, 4, size=n)
cases.append(case("300 rows, 12 users, scores rounded to 0.1", labels.tolist(), scores.tolist(), users.tolist(), weights.tolist()))
scores2 = rng.rand(n).tolist()
labels2 = (rng.rand(n) < 0.4).astype(int).tolist()
cases.append(case("300 rows, 12 users, distinct scores", labels2, scores2, users.tolist(), weights.tolist()))

out = {
    "what": "AUC (scikit-learn roc_auc_score arithmetic, with and without sample weights), log loss, GAUC, Recall@K and NDCG@K (textbook) of stored cases with ties",
    "made_by": "scripts/reference/rec_metrics.py with Python %s and numpy %s on %s"
    % (sys.version.split()[0], np.__version__, datetime.date.today().isoformat()),
    "cases": cases,
}
path = os.path.join(os.path.dirname(__file__), "..", "..", "src", "rec", "reference", "rec-metrics.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote", path)
