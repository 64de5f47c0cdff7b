#!/usr/bin/python3
"""Reference values for pmg's FID (src/metrics/frechet-distance.ts, src/metrics/inception-input.ts), written
independently of pmg's TypeScript, following pytorch-fid's own arithmetic (github.com/mseitzer/pytorch-fid,
src/pytorch_fid/fid_score.py `calculate_frechet_distance` and src/pytorch_fid/inception.py `forward`, read at
commit b9c1811; pytorch-fid itself is not installed here, its two functions are re-typed below from their
published behaviour):

- Frechet distance: covmean = scipy.linalg.sqrtm(sigma1 @ sigma2); if it is not finite, sqrtm again of
  (sigma1 + eps I)(sigma2 + eps I) with eps = 1e-6; if complex and the diagonal's imaginary part is not within
  atol 1e-3 of 0, raise ValueError('Imaginary component <max |imag|>'); else keep the real part;
  d = |mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr(covmean).
- Inception input: F.interpolate(x, size=(S, S), mode='bilinear', align_corners=False) on float32 images in
  [0, 1] (ToTensor: uint8 / 255), then 2 x - 1.

Run from the repository root with Debian's python3 (python3-torch 1.13, numpy 1.24, scipy 1.10.1):

    /usr/bin/python3 scripts/reference/fid.py

Writes src/metrics/reference/fid-pytorch-fid.json and src/metrics/reference/inception-resize.json.
The 2048-d case is rebuilt by the test from pmg's seeded generator (src/core/random.ts); here the same draws
come from the independent Python implementation in scripts/reference/random.py. sqrtm of the 2048-d product
takes a few minutes.
"""
import base64
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# scripts/reference/random.py would shadow the standard library's `random` (numpy imports it): drop this folder.
sys.path = [p for p in sys.path if os.path.abspath(p or '.') != HERE]
import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy import linalg  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, 'src', 'metrics', 'reference')
IMAGES = os.path.join(ROOT, 'test-data', 'metrics')
with open(os.path.join(HERE, 'random.py')) as f:
    source = f.read()
namespace = {}
exec(source[:source.index('\nout = ')], namespace)
Xoshiro = namespace['Xoshiro']


def pytorch_fid_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance; returns (value, fallback_used, max_imag_of_diagonal)."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    fallback = False
    if not np.isfinite(covmean).all():
        fallback = True
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    max_imag = 0.0
    if np.iscomplexobj(covmean):
        max_imag = float(np.max(np.abs(np.diagonal(covmean).imag)))
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError('Imaginary component {}'.format(np.max(np.abs(covmean.imag))))
        covmean = covmean.real
    tr_covmean = np.trace(covmean)
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean), fallback, max_imag


def small_cases():
    rng = np.random.RandomState(11)
    cases = []
    d = 8
    b1 = rng.normal(size=(d, 3))
    b2 = rng.normal(size=(d, d))
    cases.append(('first-singular', rng.normal(size=d), b1 @ b1.T, rng.normal(size=d), b2 @ b2.T / d + 0.2 * np.eye(d)))
    d = 32
    p = rng.normal(size=(d, 8))
    q = rng.normal(size=(d, 8))
    cases.append(('near-singular-32', rng.normal(size=d), p @ p.T + 1e-10 * np.eye(d), 0.5 * rng.normal(size=d), q @ q.T + 1e-10 * np.eye(d)))
    d = 6
    a = rng.normal(size=(d, d))
    s1 = a @ a.T + np.eye(d)
    u = rng.normal(size=d)
    s2 = np.eye(d) - 3 * np.outer(u, u) / u.dot(u)  # eigenvalue -2: not a covariance
    cases.append(('not-a-covariance', rng.normal(size=d), s1, rng.normal(size=d), s2))
    out = []
    for name, m1, c1, m2, c2 in cases:
        row = {'name': name, 'mu1': m1.tolist(), 'sigma1': c1.tolist(), 'mu2': m2.tolist(), 'sigma2': c2.tolist(),
               'eigenvalues_of_product': sorted(np.linalg.eigvals(c1 @ c2).real.tolist())}
        try:
            value, fallback, imag = pytorch_fid_distance(m1, c1, m2, c2)
            row.update({'fid_pytorch_fid': value, 'eps_fallback': fallback, 'max_imag_diagonal': imag})
        except ValueError as error:
            row['raises'] = str(error)
        out.append(row)
    return out


def seeded_gaussian(seed, d, rank):
    """The 2048-d rule, drawn in this order from Xoshiro(seed).next_gaussian():
    mean (d values), B (d x rank, row-major), g (d values);
    sigma = B B^T / rank + diag(0.2 + 0.8 |g|)."""
    rng = Xoshiro(seed)
    mean = np.array([rng.next_gaussian() for _ in range(d)])
    b = np.array([rng.next_gaussian() for _ in range(d * rank)]).reshape(d, rank)
    g = np.array([rng.next_gaussian() for _ in range(d)])
    return mean, b @ b.T / rank + np.diag(0.2 + 0.8 * np.abs(g))


def case_2048():
    d, rank = 2048, 64
    mu1, s1 = seeded_gaussian(2048001, d, rank)
    mu2, s2 = seeded_gaussian(2048002, d, rank)
    mu2 = 0.1 * mu2
    value, fallback, imag = pytorch_fid_distance(mu1, s1, mu2, s2)
    ev = np.sort(np.linalg.eigvals(s1 @ s2).real)
    return {'dim': d, 'rank': rank, 'seed1': 2048001, 'seed2': 2048002, 'mu2_scale': 0.1,
            'rule': 'Xoshiro(seed).next_gaussian() draws: mean (dim), B (dim x rank row-major), g (dim); '
                    'sigma = B B^T / rank + diag(0.2 + 0.8 |g|); mu2 = mu2_scale * mean of seed2',
            'trace_sigma1': float(np.trace(s1)), 'trace_sigma2': float(np.trace(s2)),
            'sum_sqrt_eigenvalues_numpy': float(np.sqrt(np.clip(ev, 0, None)).sum()),
            'fid_pytorch_fid': value, 'eps_fallback': fallback, 'max_imag_diagonal': imag}


def b64(array):
    return base64.b64encode(np.ascontiguousarray(array, dtype='<f4').tobytes()).decode('ascii')


def inception_resize():
    import torch
    import torch.nn.functional as F
    from PIL import Image
    rows = []
    for name, size in [('a.png', 17), ('a.png', 47), ('big-a.png', 45), ('b.png', 40)]:
        img = np.asarray(Image.open(os.path.join(IMAGES, name)).convert('RGB'))
        x = torch.from_numpy(img.copy()).permute(2, 0, 1).unsqueeze(0).float().div(255)  # ToTensor
        y = F.interpolate(x, size=(size, size), mode='bilinear', align_corners=False)
        y = 2 * y - 1
        rows.append({'image': name, 'size': size, 'width': img.shape[1], 'height': img.shape[0],
                     'nchw_float32_base64': b64(y.numpy())})
    # 299 x 299 (pytorch-fid's size) from the 192 x 180 image: every 7th row and column of each channel.
    img = np.asarray(Image.open(os.path.join(IMAGES, 'big-a.png')).convert('RGB'))
    x = torch.from_numpy(img.copy()).permute(2, 0, 1).unsqueeze(0).float().div(255)
    y = (2 * F.interpolate(x, size=(299, 299), mode='bilinear', align_corners=False) - 1).numpy()
    sampled = y[:, :, ::7, ::7]
    return {'made_by': 'scripts/reference/fid.py with torch %s (F.interpolate bilinear, align_corners=False, float32)' % torch.__version__,
            'cases': rows,
            'size_299': {'image': 'big-a.png', 'step': 7, 'shape': list(sampled.shape), 'nchw_float32_base64': b64(sampled),
                         'mean': float(y.astype(np.float64).mean())}}


def write_json(name, obj):
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(obj, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    write_json('inception-resize.json', inception_resize())
    write_json('fid-pytorch-fid.json', {
        'made_by': 'scripts/reference/fid.py: pytorch-fid calculate_frechet_distance arithmetic with scipy %s linalg.sqrtm, numpy %s'
                   % (scipy.__version__, np.__version__),
        'cases': small_cases(), 'case_2048': case_2048()})
