"""Reference values for pmg's tiled VAE decode (src/pipeline/vae-tiling.ts).

Follows diffusers' AutoencoderKL.tiled_decode, blend_v and blend_h (diffusers commit 58eb52c0,
src/diffusers/models/autoencoders/autoencoder_kl.py), re-typed with torch tensors so the arithmetic is torch's:
tiles start every int(tile_latent * (1 - 0.25)) latent px; the tile above, then the tile to the left, is blended
IN PLACE into the first int(tile_sample * 0.25) rows / columns with weights (1 - y/e) and y/e (Python floats that
torch applies as float32); each tile keeps its first tile_sample - blend rows and columns.

The decoder is a deterministic fake (no VAE weights): every latent pixel becomes an 8x8 block whose values depend on
the tile-local pixel position, so tiles disagree at their seams and the blending shows in the result. pmg's test
implements the same fake in float32 and must get identical bytes.

Run with Debian's python3 (torch 1.13): /usr/bin/python3 scripts/reference/vae_tiling.py
"""
import hashlib
import json
import os
import sys

# scripts/reference/random.py would shadow the standard library's random module (numpy imports it).
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np  # noqa: E402
import torch  # noqa: E402

OVERLAP = 0.25
WEIGHTS = [0.5, -0.75, 1.25]


def fake_latents(k, h, w):
    b, c, y, x = np.meshgrid(np.arange(k), np.arange(4), np.arange(h), np.arange(w), indexing="ij")
    return torch.from_numpy((((b * 131 + c * 31 + y * 7 + x * 3) % 17) / 8.0 - 1.0).astype(np.float32))


def fake_decoder(z):
    """[k, 4, h, w] -> [k, 3, 8h, 8w], float32 step by step (pmg's test does the same in float32)."""
    k, _, h, w = z.shape
    up = z.repeat_interleave(8, dim=2).repeat_interleave(8, dim=3)
    ys = torch.arange(8 * h, dtype=torch.float32).reshape(8 * h, 1)
    xs = torch.arange(8 * w, dtype=torch.float32).reshape(1, 8 * w)
    position = ys * np.float32(0.01) + xs * np.float32(-0.003)
    out = torch.empty((k, 3, 8 * h, 8 * w), dtype=torch.float32)
    for c in range(3):
        out[:, c] = (up[:, c] * np.float32(WEIGHTS[c]) + up[:, 3] * np.float32(0.25)) + position
    return out


def blend_v(a, b, blend_extent):
    blend_extent = min(a.shape[2], b.shape[2], blend_extent)
    for y in range(blend_extent):
        b[:, :, y, :] = a[:, :, -blend_extent + y, :] * (1 - y / blend_extent) + b[:, :, y, :] * (y / blend_extent)
    return b


def blend_h(a, b, blend_extent):
    blend_extent = min(a.shape[3], b.shape[3], blend_extent)
    for x in range(blend_extent):
        b[:, :, :, x] = a[:, :, :, -blend_extent + x] * (1 - x / blend_extent) + b[:, :, :, x] * (x / blend_extent)
    return b


def tiled_decode(z, tile_sample, tile_latent):
    overlap_size = int(tile_latent * (1 - OVERLAP))
    blend_extent = int(tile_sample * OVERLAP)
    row_limit = tile_sample - blend_extent
    rows = []
    for i in range(0, z.shape[2], overlap_size):
        row = []
        for j in range(0, z.shape[3], overlap_size):
            row.append(fake_decoder(z[:, :, i : i + tile_latent, j : j + tile_latent]))
        rows.append(row)
    result_rows = []
    for i, row in enumerate(rows):
        result_row = []
        for j, tile in enumerate(row):
            if i > 0:
                tile = blend_v(rows[i - 1][j], tile, blend_extent)
            if j > 0:
                tile = blend_h(row[j - 1], tile, blend_extent)
            result_row.append(tile[:, :, :row_limit, :row_limit])
        result_rows.append(torch.cat(result_row, dim=3))
    return torch.cat(result_rows, dim=2), len(rows) * len(rows[0])


def decode(z, tile_sample, tile_latent):
    # AutoencoderKL._decode with use_tiling: tiles only when a side is larger than one tile.
    if z.shape[-1] > tile_latent or z.shape[-2] > tile_latent:
        return tiled_decode(z, tile_sample, tile_latent)
    return fake_decoder(z), 1


CASES = [
    {"name": "small tiles, 2 images, edge tiles of 1 latent px", "k": 2, "h": 7, "w": 10, "tileSampleSize": 32, "tileLatentSize": 4},
    {"name": "one column wide, taller than a tile", "k": 1, "h": 13, "w": 8, "tileSampleSize": 64, "tileLatentSize": 8},
    {"name": "SD 1.x tiles (512 px, 64 latent px) on a 800x576 image", "k": 1, "h": 100, "w": 72, "tileSampleSize": 512, "tileLatentSize": 64},
    {"name": "tiles of 48 px: blend extent 12, weights not exact in binary", "k": 2, "h": 11, "w": 14, "tileSampleSize": 48, "tileLatentSize": 6},
    {"name": "SD 2.x tiles (768 px, 96 latent px) on a 1024x1024 image", "k": 1, "h": 128, "w": 128, "tileSampleSize": 768, "tileLatentSize": 96},
    {"name": "fits in one tile: decoded whole", "k": 1, "h": 8, "w": 6, "tileSampleSize": 64, "tileLatentSize": 8},
]


def main():
    out = []
    for case in CASES:
        z = fake_latents(case["k"], case["h"], case["w"])
        image, tiles = decode(z, case["tileSampleSize"], case["tileLatentSize"])
        data = image.contiguous().numpy().astype("<f4")
        flat = data.reshape(-1)
        picks = np.linspace(0, flat.size - 1, 64).astype(np.int64)
        out.append({
            **case,
            "dims": list(data.shape),
            "tiles": tiles,
            "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
            "sum": float(flat.astype(np.float64).sum()),
            "samples": [[int(i), float(flat[i])] for i in picks],
        })
    meta = {
        "source": "diffusers 58eb52c0 AutoencoderKL.tiled_decode / blend_v / blend_h, re-typed with torch tensors",
        "made_with": f"torch {torch.__version__}, numpy {np.__version__}",
        "script": "scripts/reference/vae_tiling.py",
        "cases": out,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "..", "src", "pipeline", "reference", "vae-tiling.json")
    with open(path, "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
