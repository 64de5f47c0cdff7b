#!/usr/bin/python3
"""Reference values for pmg's metrics, computed by independent implementations.

Run from the repository root with Debian's python3 (numpy, scipy, python3-skimage 0.19.3):

    /usr/bin/python3 scripts/reference/metrics.py            # images, SSIM, FID (MS-SSIM: scripts/reference/ms_ssim.py)
    /usr/bin/python3 scripts/reference/metrics.py lpips      # LPIPS on the exported fixture weights

Writes test-data/metrics/*.png (small deterministic test images, made here from a seeded numpy
generator) and src/metrics/reference/*.json. Tests only read the stored files; they never run python.
"""
import json
import os
import sys

# scripts/reference/random.py would shadow the standard library's `random` (numpy imports it): drop this folder.
sys.path = [p for p in sys.path if os.path.abspath(p or '.') != os.path.dirname(os.path.abspath(__file__))]
import numpy as np  # noqa: E402
from PIL import Image
from scipy import linalg
from scipy.ndimage import gaussian_filter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGES = os.path.join(ROOT, 'test-data', 'metrics')
OUT = os.path.join(ROOT, 'src', 'metrics', 'reference')


def smooth_image(rng, height, width, cells, noise):
    """Low-frequency colour field (bilinear upsampled random grid) plus a little pixel noise, uint8."""
    grid = rng.uniform(0, 255, size=(cells + 1, cells + 1, 3))
    ys = np.linspace(0, cells, height)
    xs = np.linspace(0, cells, width)
    y0 = np.minimum(np.floor(ys).astype(int), cells - 1)
    x0 = np.minimum(np.floor(xs).astype(int), cells - 1)
    fy = (ys - y0)[:, None, None]
    fx = (xs - x0)[None, :, None]
    g00 = grid[y0][:, x0]
    g01 = grid[y0][:, x0 + 1]
    g10 = grid[y0 + 1][:, x0]
    g11 = grid[y0 + 1][:, x0 + 1]
    img = (1 - fy) * ((1 - fx) * g00 + fx * g01) + fy * ((1 - fx) * g10 + fx * g11)
    img = img + rng.normal(0, noise, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def distort(rng, img, shift, noise):
    out = img.astype(np.float64) + shift + rng.normal(0, noise, size=img.shape)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def make_images():
    rng = np.random.RandomState(20240412)
    os.makedirs(IMAGES, exist_ok=True)
    imgs = {}
    imgs['a'] = smooth_image(rng, 40, 48, 4, 6.0)                 # 48x40 (W x H)
    imgs['b'] = distort(rng, imgs['a'], 12.0, 10.0)               # same size, mildly distorted
    imgs['c'] = smooth_image(rng, 40, 48, 6, 20.0)                # unrelated
    imgs['big-a'] = smooth_image(rng, 180, 192, 8, 4.0)           # 192x180 for MS-SSIM
    imgs['big-b'] = distort(rng, imgs['big-a'], -8.0, 14.0)
    imgs['big-c'] = smooth_image(rng, 180, 192, 12, 4.0)
    for name, img in imgs.items():
        Image.fromarray(img, 'RGB').save(os.path.join(IMAGES, name + '.png'), optimize=True)
    # Read back what was written, so the numbers are for exactly the stored files.
    return {name: np.asarray(Image.open(os.path.join(IMAGES, name + '.png')).convert('RGB')) for name in imgs}


def ssim_skimage(x, y):
    from skimage.metrics import structural_similarity
    return float(structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                       data_range=255, channel_axis=-1))


def luma(img):
    f = img.astype(np.float64)
    return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


def ssim_cs_plane(x, y):
    """SSIM and cs means of one float64 plane, skimage's way: gaussian_filter (reflect), crop 5."""
    args = dict(sigma=1.5, truncate=3.5, mode='reflect')
    ux, uy = gaussian_filter(x, **args), gaussian_filter(y, **args)
    vx = gaussian_filter(x * x, **args) - ux * ux
    vy = gaussian_filter(y * y, **args) - uy * uy
    vxy = gaussian_filter(x * y, **args) - ux * uy
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    cs = (2 * vxy + c2) / (vx + vy + c2)
    s = (2 * ux * uy + c1) / (ux * ux + uy * uy + c1) * cs
    return float(s[5:-5, 5:-5].mean()), float(cs[5:-5, 5:-5].mean())


def fid_scipy(mu1, s1, mu2, s2):
    """FID the way pytorch-fid computes it: scipy.linalg.sqrtm of s1 @ s2, real part."""
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = np.real(covmean)
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fid_eigen(mu1, s1, mu2, s2):
    """Cross-check: trace term from the eigenvalues of the symmetric sqrt(s1) s2 sqrt(s1)."""
    w, v = linalg.eigh(s1)
    r = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    ev = linalg.eigvalsh(r @ s2 @ r)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(ev, 0, None)).sum())


def fid_cases():
    rng = np.random.RandomState(7)
    cases = []
    d = 6
    a = rng.normal(size=(d, d))
    b = rng.normal(size=(d, d))
    s1, s2 = a @ a.T + 0.5 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    cases.append(('well-conditioned', mu1, s1, mu2, s2))
    cases.append(('identical', mu1, s1, mu1, s1))
    # Near-singular: rank-2 covariances in 6-d plus 1e-9 on the diagonal.
    p = rng.normal(size=(d, 2))
    q = rng.normal(size=(d, 2))
    cases.append(('near-singular', mu1, p @ p.T + 1e-9 * np.eye(d), mu2, q @ q.T + 1e-9 * np.eye(d)))
    out = []
    for name, m1, c1, m2, c2 in cases:
        out.append({'name': name, 'mu1': m1.tolist(), 'sigma1': c1.tolist(), 'mu2': m2.tolist(), 'sigma2': c2.tolist(),
                    'fid_scipy_sqrtm': fid_scipy(m1, c1, m2, c2), 'fid_eigh': fid_eigen(m1, c1, m2, c2)})
    # From features, fewer samples than dimensions (singular sample covariances), np.cov with ddof=1.
    f1 = rng.normal(size=(5, 8))
    f2 = rng.normal(loc=0.3, size=(7, 8)) * 1.5
    m1, c1 = f1.mean(0), np.cov(f1, rowvar=False)
    m2, c2 = f2.mean(0), np.cov(f2, rowvar=False)
    features = {'features1': f1.tolist(), 'features2': f2.tolist(),
                'fid_scipy_sqrtm': fid_scipy(m1, c1, m2, c2), 'fid_eigh': fid_eigen(m1, c1, m2, c2)}
    # Most exact form for singular sample covariances: trace term = nuclear norm of A1 A2^T (SVD).
    a1 = (f1 - m1) / np.sqrt(len(f1) - 1)
    a2 = (f2 - m2) / np.sqrt(len(f2) - 1)
    nuclear = np.linalg.svd(a1 @ a2.T, compute_uv=False).sum()
    features['fid_svd'] = float(((m1 - m2) ** 2).sum() + (a1 * a1).sum() + (a2 * a2).sum() - 2 * nuclear)
    return out, features


def write_json(name, obj):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(obj, f, indent=1)
        f.write('\n')


def main_images():
    import skimage
    imgs = make_images()
    pairs = [('a', 'b'), ('a', 'c'), ('b', 'c'), ('a', 'a')]
    ssim_rows = []
    for p, q in pairs:
        ssim_rows.append({'x': p + '.png', 'y': q + '.png', 'ssim_rgb': ssim_skimage(imgs[p], imgs[q]),
                          'ssim_luma': float(__import__('skimage.metrics').metrics.structural_similarity(
                              luma(imgs[p]), luma(imgs[q]), gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False, data_range=255)),
                          'ssim_rgb_numpy': float(np.mean([ssim_cs_plane(imgs[p][..., c].astype(float), imgs[q][..., c].astype(float))[0] for c in range(3)]))})
    large_rows = []
    for p, q in [('big-a', 'big-b'), ('big-a', 'big-c'), ('big-a', 'big-a')]:
        large_rows.append({'x': p + '.png', 'y': q + '.png', 'ssim_rgb': ssim_skimage(imgs[p], imgs[q])})
    write_json('ssim.json', {
        'made_by': 'scripts/reference/metrics.py with Debian python3-skimage %s, numpy %s' % (skimage.__version__, np.__version__),
        'ssim_call': 'structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1)',
        'ssim': ssim_rows, 'ssim_large': large_rows})
    cases, features = fid_cases()
    write_json('fid.json', {'made_by': 'scripts/reference/metrics.py with scipy %s (linalg.sqrtm, as pytorch-fid)' % __import__('scipy').__version__,
                            'cases': cases, 'from_features': features})


def main_lpips():
    """LPIPS formula on the fixture network: weights exported by the TS fixture (see lpips-fixture.json)."""
    with open(os.path.join(OUT, 'lpips-fixture.json')) as f:
        fx = json.load(f)
    shift = np.array(fx['shift']).reshape(1, 3, 1, 1)
    scale = np.array(fx['scale']).reshape(1, 3, 1, 1)

    def conv(x, w, b, stride, pad):
        n, c, h, wd = x.shape
        o, _, k, _ = w.shape
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        oh, ow = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
        out = np.zeros((n, o, oh, ow))
        for i in range(k):
            for j in range(k):
                patch = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
                out += np.einsum('nchw,oc->nohw', patch, w[:, :, i, j])
        return out + b.reshape(1, -1, 1, 1)

    def features(img):
        x = img.astype(np.float64).transpose(2, 0, 1)[None] / 127.5 - 1.0
        x = (x - shift) / scale
        taps = []
        for layer in fx['layers']:
            w = np.array(layer['weight'], dtype=np.float32).astype(np.float64).reshape(layer['shape'])
            b = np.array(layer['bias'], dtype=np.float32).astype(np.float64)
            x = np.maximum(conv(x, w, b, layer['stride'], layer['pad']), 0)
            if layer['tap']:
                taps.append(x)
        return taps

    def lpips(p, q):
        fp, fq = features(p), features(q)
        total = 0.0
        for a, b, head in zip(fp, fq, fx['heads']):
            na = a / (np.sqrt((a * a).sum(axis=1, keepdims=True)) + 1e-10)
            nb = b / (np.sqrt((b * b).sum(axis=1, keepdims=True)) + 1e-10)
            h = np.array(head, dtype=np.float32).astype(np.float64).reshape(1, -1, 1, 1)
            total += float(((na - nb) ** 2 * h).sum(axis=1).mean())
        return total

    imgs = {n: np.asarray(Image.open(os.path.join(IMAGES, n + '.png')).convert('RGB')) for n in ['a', 'b', 'c']}
    rows = [{'x': p + '.png', 'y': q + '.png', 'lpips': lpips(imgs[p], imgs[q])} for p, q in [('a', 'b'), ('a', 'c'), ('b', 'c'), ('a', 'a')]]
    write_json('lpips.json', {'made_by': 'scripts/reference/metrics.py lpips (numpy float64 convolution, formula of Zhang et al. 2018)',
                              'fixture_seed': fx['seed'], 'lpips': rows})


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == 'lpips':
        main_lpips()
    else:
        main_images()
