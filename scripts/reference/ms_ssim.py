#!/usr/bin/python3
"""Reference MS-SSIM values for src/metrics/ms-ssim.ts, following pytorch_msssim's own arithmetic
(github.com/VainF/pytorch-msssim, pytorch_msssim/ssim.py `ms_ssim`, read at commit b057b07; the package is not
installed here, so its steps are re-typed below from that source and run with torch):

- window: 11 taps, coords -5..5, exp(-x^2 / (2 * 1.5^2)) normalised, made in float32 then cast to the input dtype;
- _ssim: separable 'valid' convolution (conv2d, padding 0, groups=C) along H then W; C1 = (0.01 * 255)^2,
  C2 = (0.03 * 255)^2; sigma = E[x^2] - mu^2 (no compensation); cs_map and ssim_map averaged over the map;
- 5 levels, weights [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]; relu(cs) at levels 1-4, relu(ssim) at level 5;
  between levels F.avg_pool2d(kernel_size=2, padding=[H % 2, W % 2]) (stride 2, count_include_pad=True);
- product of the powers per channel, then the mean over channels;
- assert smaller side > (11 - 1) * 2^4 = 160.

Inputs are 8-bit images as float64 tensors in [0, 255] (data_range 255). 'luma' rows use one channel
Y = 0.299 R + 0.587 G + 0.114 B. Run from the repository root with Debian's python3 (python3-torch 1.13):

    /usr/bin/python3 scripts/reference/ms_ssim.py

Writes test-data/metrics/ms-*.png (smooth random colour fields, numpy.random.RandomState(20240913); made for
this project, MIT like the repository) and src/metrics/reference/ms-ssim.json.
"""
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# scripts/reference/random.py would shadow the standard library's `random` (numpy imports it): drop this folder.
sys.path = [p for p in sys.path if os.path.abspath(p or '.') != HERE]
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
IMAGES = os.path.join(ROOT, 'test-data', 'metrics')
OUT = os.path.join(ROOT, 'src', 'metrics', 'reference')


# The test-image generator of scripts/reference/metrics.py (smooth random colour field + noise; a distortion).
_spec = importlib.util.spec_from_file_location('pmg_reference_metrics', os.path.join(HERE, 'metrics.py'))
_metrics = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_metrics)
smooth_image, distort = _metrics.smooth_image, _metrics.distort


def fspecial_gauss_1d(size, sigma):
    coords = torch.arange(size, dtype=torch.float)
    coords -= size // 2
    g = torch.exp(-(coords ** 2) / (2 * sigma ** 2))
    g /= g.sum()
    return g.unsqueeze(0).unsqueeze(0)


def gaussian_filter(x, win):
    c = x.shape[1]
    out = x
    for i, s in enumerate(x.shape[2:]):
        assert s >= win.shape[-1]
        out = F.conv2d(out, weight=win.transpose(2 + i, -1), stride=1, padding=0, groups=c)
    return out


def ssim_parts(x, y, win, data_range=255.0):
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    win = win.to(x.device, dtype=x.dtype)
    mu1, mu2 = gaussian_filter(x, win), gaussian_filter(y, win)
    mu1_sq, mu2_sq, mu1_mu2 = mu1.pow(2), mu2.pow(2), mu1 * mu2
    sigma1_sq = gaussian_filter(x * x, win) - mu1_sq
    sigma2_sq = gaussian_filter(y * y, win) - mu2_sq
    sigma12 = gaussian_filter(x * y, win) - mu1_mu2
    cs_map = (2 * sigma12 + c2) / (sigma1_sq + sigma2_sq + c2)
    ssim_map = ((2 * mu1_mu2 + c1) / (mu1_sq + mu2_sq + c1)) * cs_map
    return torch.flatten(ssim_map, 2).mean(-1), torch.flatten(cs_map, 2).mean(-1)


def ms_ssim(x, y):
    assert min(x.shape[-2:]) > (11 - 1) * 2 ** 4
    weights = x.new_tensor([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
    win = fspecial_gauss_1d(11, 1.5).repeat([x.shape[1], 1, 1, 1])
    mcs = []
    for i in range(5):
        ssim_per_channel, cs = ssim_parts(x, y, win)
        if i < 4:
            mcs.append(torch.relu(cs))
            padding = [s % 2 for s in x.shape[2:]]
            x = F.avg_pool2d(x, kernel_size=2, padding=padding)
            y = F.avg_pool2d(y, kernel_size=2, padding=padding)
    ssim_per_channel = torch.relu(ssim_per_channel)
    values = torch.prod(torch.stack(mcs + [ssim_per_channel], dim=0) ** weights.view(-1, 1, 1), dim=0)
    return float(values.mean())


def tensor(img):
    return torch.from_numpy(img.astype(np.float64)).permute(2, 0, 1).unsqueeze(0)


def luma(img):
    f = img.astype(np.float64)
    return torch.from_numpy(0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2])[None, None]


def main():
    rng = np.random.RandomState(20240913)
    made = {}
    for name, (w, h, cells) in {'ms-a': (177, 181, 6), 'ms-c': (200, 300, 7), 'ms-e': (161, 175, 5), 'ms-g': (190, 163, 6)}.items():
        made[name] = smooth_image(rng, h, w, cells, 1.5)
        made[name[:-1] + chr(ord(name[-1]) + 1)] = distort(rng, made[name], 9.0, 4.0)
    for name, img in made.items():
        Image.fromarray(img, 'RGB').save(os.path.join(IMAGES, name + '.png'), optimize=True)
    imgs = {n: np.asarray(Image.open(os.path.join(IMAGES, n + '.png')).convert('RGB')) for n in made}
    imgs.update({n: np.asarray(Image.open(os.path.join(IMAGES, n + '.png')).convert('RGB')) for n in ['big-a', 'big-b', 'big-c']})
    rows = []
    for p, q in [('ms-a', 'ms-b'), ('ms-a', 'ms-a'), ('ms-c', 'ms-d'), ('ms-e', 'ms-f'), ('ms-g', 'ms-h'), ('big-a', 'big-b'), ('big-a', 'big-c')]:
        x, y = imgs[p], imgs[q]
        rows.append({'x': p + '.png', 'y': q + '.png', 'width': x.shape[1], 'height': x.shape[0],
                     'ms_ssim_rgb': ms_ssim(tensor(x), tensor(y)), 'ms_ssim_luma': ms_ssim(luma(x), luma(y))})
    refused = []
    for w, h in [(160, 200), (300, 160), (161, 161)]:
        try:
            z = torch.zeros(1, 3, h, w, dtype=torch.float64)
            ms_ssim(z, z)
            refused.append({'width': w, 'height': h, 'accepted': True})
        except AssertionError:
            refused.append({'width': w, 'height': h, 'accepted': False})
    with open(os.path.join(OUT, 'ms-ssim.json'), 'w') as f:
        json.dump({'made_by': 'scripts/reference/ms_ssim.py: pytorch_msssim ms_ssim arithmetic (commit b057b07) with torch %s, float64 inputs, data_range 255' % torch.__version__,
                   'window': [float(v) for v in fspecial_gauss_1d(11, 1.5).flatten()],
                   'ms_ssim': rows, 'sizes': refused}, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
