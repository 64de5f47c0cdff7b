#!/usr/bin/python3
"""Reference arrays for src/core/pil-resize.ts and src/core/image-processor.ts, made by Pillow itself (Debian's
python3-pil 9.4.0: Image.resize) and by an independent re-typing of transformers' CLIPImageProcessor steps
(transformers is not installed here; followed from src/transformers/models/clip/image_processing_clip.py and
src/transformers/image_transforms.py):

  size int -> {"shortest_edge": size}; crop_size int -> {"height": c, "width": c};
  resize: short, long = sorted sides; new_long = int(shortest_edge * long / short)
          (get_resize_output_image_size, default_to_square=False); PIL Image.resize((w, h), resample);
  center_crop: top = (h - ch) // 2, left = (w - cw) // 2; when the image is smaller, it is first padded with
          zeros, top_pad = ceil((new_h - h) / 2) (left likewise);
  rescale: (uint8 as float64 * rescale_factor).astype(float32);
  normalize: float32 (x - mean) / std per channel; output channels first.

Run from the repository root:  /usr/bin/python3 scripts/reference/clip_preprocess.py
Writes test-data/clip/*.png (inputs made here from numpy.random.RandomState(20241130): gradients, waves and a few
hard-edged discs; made for this project, MIT like the repository) and src/core/reference/pil-resize.json,
src/core/reference/clip-preprocess.json (uint8 results as lossless PNGs in test-data/clip/expected/, float32
arrays as base64 of little-endian bytes).
"""
import base64
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or '.') != HERE]
import numpy as np  # noqa: E402
import PIL  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
IMAGES = os.path.join(ROOT, 'test-data', 'clip')
OUT = os.path.join(ROOT, 'src', 'core', 'reference')
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
FILTERS = {'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR, 'box': Image.BOX, 'hamming': Image.HAMMING, 'lanczos': Image.LANCZOS}


def photo_like(rng, width, height):
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.zeros((height, width, 3))
    for c in range(3):
        a, b = rng.uniform(-1, 1, size=2)
        img[..., c] = 128 + 60 * (a * x / width + b * y / height)
        fx, fy, ph = rng.uniform(1, 9), rng.uniform(1, 9), rng.uniform(0, 6.3)
        img[..., c] += 40 * np.sin(2 * np.pi * (fx * x / width + fy * y / height) + ph)
    for _ in range(4):  # hard-edged discs: sharp transitions where resampling filters differ most
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.05, 0.25) * min(width, height)
        inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        img[inside] = rng.uniform(0, 255, size=3)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def packed(array, name):
    """Store a uint8 HxWx3 array as a lossless PNG under test-data/clip/expected/ and return its file name."""
    os.makedirs(os.path.join(IMAGES, 'expected'), exist_ok=True)
    Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8), 'RGB').save(os.path.join(IMAGES, 'expected', name), optimize=True)
    check = np.asarray(Image.open(os.path.join(IMAGES, 'expected', name)).convert('RGB'))
    assert (check == array).all()
    return name


def floats(array):
    return base64.b64encode(np.ascontiguousarray(array, dtype='<f4').tobytes()).decode('ascii')


def clip_preprocess(img, config):
    """CLIPImageProcessor.preprocess on one uint8 HxWx3 array; returns (uint8 after resize+crop, float32 CHW)."""
    size = config['size']
    size = {'shortest_edge': size} if isinstance(size, int) else size
    crop = config['crop_size']
    crop = {'height': crop, 'width': crop} if isinstance(crop, int) else crop
    h, w = img.shape[:2]
    if 'shortest_edge' in size:
        s = size['shortest_edge']
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = s, int(s * long / short)
        oh, ow = (new_long, new_short) if w <= h else (new_short, new_long)
    else:
        oh, ow = size['height'], size['width']
    resized = np.array(Image.fromarray(img).resize((ow, oh), resample=config['resample']))
    ch, cw = crop['height'], crop['width']
    top, left = (oh - ch) // 2, (ow - cw) // 2
    if top >= 0 and left >= 0 and top + ch <= oh and left + cw <= ow:
        cropped = resized[top:top + ch, left:left + cw]
    else:
        nh, nw = max(ch, oh), max(cw, ow)
        padded = np.zeros((nh, nw, 3), dtype=resized.dtype)
        tp, lp = math.ceil((nh - oh) / 2), math.ceil((nw - ow) / 2)
        padded[tp:tp + oh, lp:lp + ow] = resized
        top, left = top + tp, left + lp
        cropped = padded[max(0, top):min(nh, top + ch), max(0, left):min(nw, left + cw)]
    x = (cropped.astype(np.float64) * config['rescale_factor']).astype(np.float32)
    mean = np.array(config['image_mean'], dtype=np.float32)
    std = np.array(config['image_std'], dtype=np.float32)
    x = (x - mean) / std
    return cropped, x.transpose(2, 0, 1)


def main():
    rng = np.random.RandomState(20241130)
    os.makedirs(IMAGES, exist_ok=True)
    os.makedirs(OUT, exist_ok=True)
    sizes = {'landscape-480x360': (480, 360), 'portrait-211x317': (211, 317), 'small-96x80': (96, 80), 'wide-257x64': (257, 64), 'odd-333x333': (333, 333)}
    for name, (w, h) in sizes.items():
        Image.fromarray(photo_like(rng, w, h), 'RGB').save(os.path.join(IMAGES, name + '.png'), optimize=True)
    imgs = {n: np.asarray(Image.open(os.path.join(IMAGES, n + '.png')).convert('RGB')) for n in sizes}

    resize_cases = []
    # Sizes other than the CLIP cases below (whose resize step the CLIP crops already cover).
    for name, (w, h), flt in [('landscape-480x360', (61, 47), 'bicubic'), ('small-96x80', (131, 109), 'bicubic'),
                              ('odd-333x333', (333, 100), 'bicubic'), ('portrait-211x317', (53, 97), 'bilinear'),
                              ('portrait-211x317', (53, 97), 'box'), ('portrait-211x317', (53, 97), 'hamming'),
                              ('portrait-211x317', (53, 97), 'lanczos'), ('small-96x80', (150, 41), 'lanczos')]:
        out = np.array(Image.fromarray(imgs[name]).resize((w, h), resample=FILTERS[flt]))
        resize_cases.append({'image': name + '.png', 'width': w, 'height': h, 'filter': flt,
                             'expected': packed(out, 'resize-%s-%dx%d-%s.png' % (name, w, h, flt))})
    with open(os.path.join(OUT, 'pil-resize.json'), 'w') as f:
        json.dump({'made_by': 'scripts/reference/clip_preprocess.py with Debian python3-pil %s (Image.resize)' % PIL.__version__,
                   'cases': resize_cases}, f, indent=1)
        f.write('\n')

    base = {'do_resize': True, 'resample': 3, 'do_center_crop': True, 'do_rescale': True, 'rescale_factor': 1 / 255,
            'do_normalize': True, 'image_mean': CLIP_MEAN, 'image_std': CLIP_STD, 'image_processor_type': 'CLIPImageProcessor'}
    configs = {
        'openai-dict': dict(base, size={'shortest_edge': 224}, crop_size={'height': 224, 'width': 224}),
        'openai-int': dict(base, size=224, crop_size=224),
        'small-crop-larger-than-resize': dict(base, size={'shortest_edge': 40}, crop_size={'height': 48, 'width': 44}),
        'tiny': dict(base, size=32, crop_size={'height': 28, 'width': 28}),
    }
    clip_cases = []
    for name in sizes:
        for cname in (['openai-dict', 'openai-int'] if name != 'small-96x80' else ['openai-dict', 'small-crop-larger-than-resize']):
            cropped, pixels = clip_preprocess(imgs[name], configs[cname])
            row = {'image': name + '.png', 'config': cname, 'height': cropped.shape[0], 'width': cropped.shape[1],
                   'expected': packed(cropped, 'clip-%s-%s.png' % (name, cname))}
            if cname == 'openai-int':
                # The int forms of size / crop_size must give what the dict forms give: no second array.
                os.remove(os.path.join(IMAGES, 'expected', row.pop('expected')))
                row['same_as'] = 'openai-dict'
            if cname == 'small-crop-larger-than-resize':
                row['pixel_values_float32_base64'] = floats(pixels)
            clip_cases.append(row)
    cropped, pixels = clip_preprocess(imgs['odd-333x333'], configs['tiny'])
    clip_cases.append({'image': 'odd-333x333.png', 'config': 'tiny', 'height': 28, 'width': 28, 'expected': packed(cropped, 'clip-odd-333x333-tiny.png'),
                       'pixel_values_float32_base64': floats(pixels)})
    with open(os.path.join(OUT, 'clip-preprocess.json'), 'w') as f:
        json.dump({'made_by': 'scripts/reference/clip_preprocess.py with Debian python3-pil %s, numpy %s; CLIPImageProcessor steps re-typed from transformers' % (PIL.__version__, np.__version__),
                   'configs': configs, 'cases': clip_cases}, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
