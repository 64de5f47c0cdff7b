#!/usr/bin/python3
"""Reference decodes for the tiny-autoencoder fixture (src/fixtures/tiny-taesd.ts), following diffusers' own
arithmetic for AutoencoderTiny's decoder (github.com/huggingface/diffusers, read at the mirror's HEAD in November 2026,
not installed here):

- src/diffusers/models/autoencoders/vae.py `DecoderTiny`:
    layers = [Conv2d(latent_channels, C0, 3, padding=1), act]
    for each stage i: num_blocks[i] x AutoencoderTinyBlock(Ci, Ci, act);
                      not the last stage: Upsample(scale_factor=upsampling_scaling_factor, mode=upsample_fn);
                      Conv2d(Ci, Ci or out_channels on the last stage, 3, padding=1, bias=is_final_block)
    forward: x = tanh(x / 3) * 3; x = layers(x); return x * 2 - 1
- src/diffusers/models/unets/unet_2d_blocks.py `AutoencoderTinyBlock`:
    conv = Sequential(Conv2d(in, out, 3, padding=1), act, Conv2d(out, out, 3, padding=1), act, Conv2d(out, out, 3, padding=1))
    skip = Conv2d(in, out, 1, bias=False) if in != out else Identity();  forward: ReLU(conv(x) + skip(x))
- `AutoencoderTiny.decode(x)` is `decoder(x)` (no scaling inside); pipelines pass latents / config.scaling_factor.

The module below is re-typed from that description (nothing from pmg's TypeScript), built from each fixture's
config.json values, and loads the fixture's weights with load_state_dict(strict=True): a layer pmg's graph lacks,
adds, orders or shapes differently fails to load. Weights come from pmg's writer (that is what is checked: pmg's
ONNX graph against diffusers' arithmetic on the same weights), exported by scripts/reference/export-taesd-fixture.mjs.

Run from the repository root (torch 1.13, Debian's python3):
    npx tsc -p . --outDir .build/ref && node scripts/reference/export-taesd-fixture.mjs .build/ref
    /usr/bin/python3 scripts/reference/taesd.py
Writes src/fixtures/reference/taesd.json.
"""
import base64
import datetime
import json
import os
import platform
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# scripts/reference/random.py would shadow the standard library's `random` (numpy imports it): drop this folder.
sys.path = [p for p in sys.path if os.path.abspath(p or '.') != HERE]
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
WEIGHTS = os.path.join(ROOT, '.build', 'ref', 'taesd-weights.json')
OUT = os.path.join(ROOT, 'src', 'fixtures', 'reference', 'taesd.json')

ACTIVATIONS = {'relu': nn.ReLU, 'silu': nn.SiLU, 'swish': nn.SiLU, 'gelu': nn.GELU, 'mish': nn.Mish}


class TinyBlock(nn.Module):
    def __init__(self, n_in, n_out, act):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(n_in, n_out, 3, padding=1), ACTIVATIONS[act](),
            nn.Conv2d(n_out, n_out, 3, padding=1), ACTIVATIONS[act](),
            nn.Conv2d(n_out, n_out, 3, padding=1),
        )
        self.skip = nn.Conv2d(n_in, n_out, 1, bias=False) if n_in != n_out else nn.Identity()
        self.fuse = nn.ReLU()

    def forward(self, x):
        return self.fuse(self.conv(x) + self.skip(x))


class TinyDecoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        act = config['act_fn']
        channels = config['decoder_block_out_channels']
        blocks = config['num_decoder_blocks']
        layers = [nn.Conv2d(config['latent_channels'], channels[0], 3, padding=1), ACTIVATIONS[act]()]
        for i, count in enumerate(blocks):
            final = i == len(blocks) - 1
            for _ in range(count):
                layers.append(TinyBlock(channels[i], channels[i], act))
            if not final:
                layers.append(nn.Upsample(scale_factor=config['upsampling_scaling_factor'], mode=config.get('upsample_fn', 'nearest')))
            layers.append(nn.Conv2d(channels[i], config['out_channels'] if final else channels[i], 3, padding=1, bias=final))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        x = torch.tanh(x / 3) * 3
        return self.layers(x).mul(2).sub(1)


class TinyAutoencoderDecoderOnly(nn.Module):
    """AutoencoderTiny without its encoder: the state-dict keys are `decoder.layers.<i>...` as in diffusers."""

    def __init__(self, config):
        super().__init__()
        self.decoder = TinyDecoder(config)

    def decode(self, x):
        return self.decoder(x)


def floats(b64, dims):
    return np.frombuffer(base64.b64decode(b64), dtype='<f4').reshape(dims)


def b64(array):
    return base64.b64encode(np.ascontiguousarray(array, dtype='<f4').tobytes()).decode('ascii')


def main():
    with open(WEIGHTS) as f:
        exported = json.load(f)
    rng = np.random.RandomState(20241130)
    shapes = {'tiny': (2, 4, 5, 3), 'real': (1, 4, 4, 6)}
    cases = []
    for case in exported['cases']:
        config = case['config']
        model = TinyAutoencoderDecoderOnly(config)
        state = {t['name']: torch.from_numpy(floats(t['float32_base64'], t['dims']).copy()) for t in case['tensors']}
        model.load_state_dict(state, strict=True)
        model.eval()
        parameters = sum(p.numel() for p in model.parameters())
        latents = (rng.standard_normal(shapes[case['width']]) * 1.5).astype(np.float32)
        with torch.no_grad():
            scaled = torch.from_numpy(latents) / config['scaling_factor']
            images = model.decode(scaled).numpy()
        cases.append({
            'width': case['width'],
            'seed': case['seed'],
            'parameters': parameters,
            'scaling_factor': config['scaling_factor'],
            'latents': {'dims': list(latents.shape), 'float32_base64': b64(latents)},
            'images': {'dims': list(images.shape), 'float32_base64': b64(images), 'mean': float(images.mean()), 'std': float(images.std())},
        })
        print(f"{case['width']}: {parameters} parameters, latents {latents.shape} -> images {images.shape}, mean {images.mean():.4f}")
    out = {
        'source': 'scripts/reference/taesd.py: diffusers AutoencoderTiny decoder arithmetic (DecoderTiny, AutoencoderTinyBlock), re-typed, run with torch on the fixture weights',
        'made': datetime.date.today().isoformat(),
        'versions': {'python': platform.python_version(), 'torch': torch.__version__, 'numpy': np.__version__},
        'latents_rule': 'numpy.random.RandomState(20241130).standard_normal(shape) * 1.5 as float32, drawn tiny case first',
        'cases': cases,
    }
    with open(OUT, 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    print(f'wrote {os.path.relpath(OUT, ROOT)}')


if __name__ == '__main__':
    main()
