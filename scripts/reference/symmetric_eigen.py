#!/usr/bin/python3
"""Reference eigenvalues for src/core/symmetric-eigen.ts, computed by numpy (LAPACK dsyevd via numpy.linalg.eigvalsh).

The test matrices are regenerated in the test from pmg's seeded generator (src/core/random.ts); here the same draws
come from the independent Python implementation of that generator in scripts/reference/random.py (its class is
loaded without running that script's output part). Gaussian draws agree with V8 to ~1e-16, far below the tolerances.

Matrices (both sides fill them the same way):
  gaussian  n x n, for i in 0..n-1, for j in 0..i: a[i][j] = a[j][i] = next_gaussian()
  wishart   B (n x r, row-major draws), A = B B^T: PSD of rank r, n - r eigenvalues exactly 0

Run from the repository root:  /usr/bin/python3 scripts/reference/symmetric_eigen.py
Writes src/core/reference/symmetric-eigen.json (made 2026-11-26 on the development machine, Debian 12 x86-64,
numpy 1.24.2 from Debian; regenerating gives the same values up to LAPACK rounding).
"""
import json
import os
import sys

# scripts/reference/random.py would shadow the standard library's `random` (numpy imports it): drop this folder.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or '.') != HERE]
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
with open(os.path.join(ROOT, 'scripts', 'reference', 'random.py')) as f:
    source = f.read()
namespace = {}
exec(source[:source.index('\nout = ')], namespace)
Xoshiro = namespace['Xoshiro']


def gaussian_matrix(seed, n):
    rng = Xoshiro(seed)
    a = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            a[i, j] = a[j, i] = rng.next_gaussian()
    return a


def wishart_matrix(seed, n, r):
    rng = Xoshiro(seed)
    b = np.array([[rng.next_gaussian() for _ in range(r)] for _ in range(n)])
    return b @ b.T


cases = []
for n in [1, 2, 5, 64, 300]:
    seed = 7000 + n
    a = gaussian_matrix(seed, n)
    cases.append({'kind': 'gaussian', 'seed': seed, 'n': n, 'eigenvalues': np.linalg.eigvalsh(a).tolist()})
for n, r in [(40, 12)]:
    seed = 8000 + n
    a = wishart_matrix(seed, n, r)
    cases.append({'kind': 'wishart', 'seed': seed, 'n': n, 'rank': r, 'eigenvalues': np.linalg.eigvalsh(a).tolist()})

out = {
    'made_by': 'scripts/reference/symmetric_eigen.py with numpy %s (numpy.linalg.eigvalsh, float64)' % np.__version__,
    'cases': cases,
}
with open(os.path.join(ROOT, 'src', 'core', 'reference', 'symmetric-eigen.json'), 'w') as f:
    json.dump(out, f, indent=1)
    f.write('\n')
