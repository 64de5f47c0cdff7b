#!/usr/bin/python3
"""Reference PCA for src/rec/pca.ts, computed by numpy (LAPACK dsyevd via numpy.linalg.eigh) in float64.

Arithmetic followed (the textbook PCA of the covariance, as numpy users write it, not pmg's code):
  mean = X[fit].mean(0); C = (X[fit] - mean).T @ (X[fit] - mean) / (n_fit - 1)  (np.cov(X[fit], rowvar=False));
  w, V = np.linalg.eigh(C); the k largest w in decreasing order with their columns of V;
  transform(X) = (X - mean) @ V_k; explained ratio = w_k / sum(max(w, 0)).
Eigenvectors are unique only up to sign: the test compares |component . reference| = 1 and projections up to the
same sign. Inputs are drawn here with numpy.random.RandomState(20261201) and stored with the outputs:
  spiked   60 x 16 rows, Gaussian with a few large directions (variances 9, 4, 2.25, then 0.25..0.04), fit on rows 0..39
  unit     30 x 8 rows, each scaled to unit length (like L2-normalised CLIP embeddings), fit on every row

Run from the repository root:  /usr/bin/python3 scripts/reference/pca.py
Writes src/rec/reference/pca-reference.json.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or '.') != HERE]  # scripts/reference/random.py shadows `random`
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
rng = np.random.RandomState(20261201)


def case(name, x, fit_rows, k):
    fit = x[fit_rows]
    mean = fit.mean(axis=0)
    c = np.cov(fit, rowvar=False)
    w, v = np.linalg.eigh(c)
    order = np.argsort(w)[::-1][:k]
    comps = v[:, order].T
    total = np.clip(w, 0, None).sum()
    return {
        'name': name,
        'rows': x.shape[0],
        'dim': x.shape[1],
        'k': k,
        'fitRows': [int(i) for i in fit_rows],
        'values': [float(t) for t in x.reshape(-1)],
        'mean': [float(t) for t in mean],
        'variances': [float(w[i]) for i in order],
        'explainedRatio': [float(w[i] / total) for i in order],
        'components': [[float(t) for t in row] for row in comps],
        'projections': [[float(t) for t in row] for row in (x - mean) @ comps.T],
    }


scales = np.array([3.0, 2.0, 1.5] + list(np.linspace(0.5, 0.2, 13)))
basis, _ = np.linalg.qr(rng.randn(16, 16))
spiked = (rng.randn(60, 16) * scales) @ basis.T + rng.randn(16) * 0.3
unit = rng.randn(30, 8) + np.array([1.0, 0.5, 0, 0, 0, 0, 0, -0.5])
unit = unit / np.linalg.norm(unit, axis=1, keepdims=True)

out = {
    'made': '2026-12-01 with Debian 12 /usr/bin/python3 %s, numpy %s' % (sys.version.split()[0], np.__version__),
    'script': 'scripts/reference/pca.py',
    'cases': [case('spiked', spiked, list(range(40)), 5), case('unit', unit, list(range(30)), 3)],
}
with open(os.path.join(ROOT, 'src', 'rec', 'reference', 'pca-reference.json'), 'w') as f:
    json.dump(out, f, indent=1)
    f.write('\n')
print('wrote', len(out['cases']), 'cases')
