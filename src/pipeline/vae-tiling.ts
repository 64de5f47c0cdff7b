/**
 * Tiled VAE decode with diffusers' semantics (AutoencoderKL.tiled_decode, blend_v, blend_h), as a wrapper over any
 * VaeDecoder, so a large image decodes with the memory of one tile:
 *
 * - tiles of `tileLatentSize` latent px (sample_size / 8; 64 for SD 1.x) start every
 *   int(tileLatentSize * (1 - 0.25)) latent px, in rows then columns; edge tiles are smaller;
 * - each decoded tile is blended, IN PLACE, with the (already blended) tile above over its first
 *   blend = int(tileSampleSize * 0.25) rows, then with the tile to its left over its first `blend` columns:
 *   b[y] = a[-e + y] * (1 - y/e) + b[y] * (y/e), e = min(a's side, b's side, blend), in float32;
 * - each tile keeps its first tileSampleSize - blend rows and columns; rows and columns are concatenated.
 *
 * Like diffusers, a latent no larger than one tile in both sides decodes in one call, unchanged. A tiled image
 * differs slightly from an untiled one (each tile sees only its own latents), so tiling is a recorded setting.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { VaeDecoder, VaeDecoderProfile } from '../spec/diffusion-models.js';
import type { FloatTensor } from '../spec/tensor.js';

/** diffusers' tile_overlap_factor. */
export const TILE_OVERLAP_FACTOR = 0.25;

export interface VaeTiling {
  /** Image side of one tile (tile_sample_min_size). */
  tileSampleSize: number;
  /** Latent side of one tile (tile_latent_min_size). */
  tileLatentSize: number;
  /** Fraction of a tile that overlaps its neighbour (default 0.25). */
  overlapFactor?: number;
}

export function tilingOf(profile: Pick<VaeDecoderProfile, 'tileSampleSize' | 'tileLatentSize'>): VaeTiling {
  return { tileSampleSize: profile.tileSampleSize, tileLatentSize: profile.tileLatentSize };
}

/** Whether latents of this size are decoded in tiles (diffusers: a side larger than one tile). */
export function needsTiles(tiling: VaeTiling, latentHeight: number, latentWidth: number): boolean {
  return latentHeight > tiling.tileLatentSize || latentWidth > tiling.tileLatentSize;
}

/** Start offsets of the tiles along one latent side. */
export function tileStarts(tiling: VaeTiling, side: number): number[] {
  const step = overlapSize(tiling);
  const starts: number[] = [];
  for (let i = 0; i < side; i += step) starts.push(i);
  return starts;
}

/** Decoder calls a tiled decode of one image makes. */
export function tileCount(tiling: VaeTiling, latentHeight: number, latentWidth: number): number {
  if (!needsTiles(tiling, latentHeight, latentWidth)) return 1;
  return tileStarts(tiling, latentHeight).length * tileStarts(tiling, latentWidth).length;
}

function overlapSize(tiling: VaeTiling): number {
  const step = Math.floor(tiling.tileLatentSize * (1 - (tiling.overlapFactor ?? TILE_OVERLAP_FACTOR)));
  if (step < 1)
    throw new PmgError(
      'invalid-argument',
      `VAE tiles of ${tiling.tileLatentSize} latent px with overlap ${tiling.overlapFactor ?? TILE_OVERLAP_FACTOR} do not advance; use larger tiles`,
    );
  return step;
}

function checkTiling(tiling: VaeTiling): void {
  const { tileSampleSize, tileLatentSize } = tiling;
  const factor = tiling.overlapFactor ?? TILE_OVERLAP_FACTOR;
  if (
    !Number.isInteger(tileSampleSize) ||
    !Number.isInteger(tileLatentSize) ||
    tileLatentSize < 1 ||
    tileSampleSize < tileLatentSize ||
    !(factor >= 0 && factor < 1)
  ) {
    throw new PmgError(
      'invalid-argument',
      `VAE tiling needs whole tile sizes (sample ${tileSampleSize} >= latent ${tileLatentSize} >= 1) and an overlap factor in [0, 1), got ${factor}`,
    );
  }
}

/** A tile `[k, c, h, w]` as plain data. */
interface Tile {
  data: Float32Array;
  k: number;
  c: number;
  h: number;
  w: number;
}

function cropLatents(latents: FloatTensor, top: number, left: number, size: number): FloatTensor {
  const [k, c, h, w] = latents.dims as [number, number, number, number];
  const th = Math.min(size, h - top);
  const tw = Math.min(size, w - left);
  const out = new Float32Array(k * c * th * tw);
  for (let plane = 0; plane < k * c; plane++) {
    for (let y = 0; y < th; y++) {
      const from = plane * h * w + (top + y) * w + left;
      out.set(latents.data.subarray(from, from + tw), (plane * th + y) * tw);
    }
  }
  return { data: out, dims: [k, c, th, tw] };
}

/** diffusers' blend_v: the first rows of `b` fade in from the last rows of `a` (same width), in place. */
export function blendVertical(a: Tile, b: Tile, extent: number): void {
  const e = Math.min(a.h, b.h, extent);
  for (let y = 0; y < e; y++) {
    const wa = Math.fround(1 - y / e);
    const wb = Math.fround(y / e);
    for (let plane = 0; plane < b.k * b.c; plane++) {
      const rowA = (plane * a.h + a.h - e + y) * a.w;
      const rowB = (plane * b.h + y) * b.w;
      for (let x = 0; x < b.w; x++) b.data[rowB + x] = Math.fround(a.data[rowA + x]! * wa) + Math.fround(b.data[rowB + x]! * wb);
    }
  }
}

/** diffusers' blend_h: the first columns of `b` fade in from the last columns of `a` (same height), in place. */
export function blendHorizontal(a: Tile, b: Tile, extent: number): void {
  const e = Math.min(a.w, b.w, extent);
  for (let x = 0; x < e; x++) {
    const wa = Math.fround(1 - x / e);
    const wb = Math.fround(x / e);
    for (let plane = 0; plane < b.k * b.c; plane++) {
      for (let y = 0; y < b.h; y++) {
        const at = (plane * b.h + y) * b.w + x;
        b.data[at] = Math.fround(a.data[(plane * a.h + y) * a.w + a.w - e + x]! * wa) + Math.fround(b.data[at]! * wb);
      }
    }
  }
}

/** Decode latents `[k, c, h, w]` (already divided by the scaling factor) tile by tile, as diffusers' tiled_decode. */
export async function tiledDecode(vae: VaeDecoder, latents: FloatTensor, tiling: VaeTiling, signal?: AbortSignal): Promise<FloatTensor> {
  checkTiling(tiling);
  const [, , h, w] = latents.dims as [number, number, number, number];
  if (!needsTiles(tiling, h, w)) return vae.decode(latents);
  const blend = Math.floor(tiling.tileSampleSize * (tiling.overlapFactor ?? TILE_OVERLAP_FACTOR));
  const limit = tiling.tileSampleSize - blend;
  const rows: Tile[][] = [];
  for (const top of tileStarts(tiling, h)) {
    const row: Tile[] = [];
    for (const left of tileStarts(tiling, w)) {
      if (signal?.aborted) throw new PmgError('aborted', 'generation stopped while decoding tiles', { cause: signal.reason });
      const decoded = await vae.decode(cropLatents(latents, top, left, tiling.tileLatentSize));
      const [k, c, th, tw] = decoded.dims as [number, number, number, number];
      if (decoded.dims.length !== 4 || decoded.data.length !== k * c * th * tw)
        throw new PmgError('model-layout', `the VAE decoder returned a tile of shape [${decoded.dims.join(', ')}]; expected [batch, channels, height, width]`);
      // Own copy: blending writes into it, and a decoder may reuse its output buffer.
      row.push({ data: Float32Array.from(decoded.data), k, c, h: th, w: tw });
    }
    rows.push(row);
  }
  const kept = rows.map((row, i) =>
    row.map((tile, j) => {
      if (i > 0) blendVertical(rows[i - 1]![j]!, tile, blend);
      if (j > 0) blendHorizontal(row[j - 1]!, tile, blend);
      return { tile, h: Math.min(limit, tile.h), w: Math.min(limit, tile.w) };
    }),
  );
  const first = kept[0]![0]!.tile;
  const outH = kept.reduce((sum, row) => sum + row[0]!.h, 0);
  const outW = kept[0]!.reduce((sum, part) => sum + part.w, 0);
  const out = new Float32Array(first.k * first.c * outH * outW);
  let top = 0;
  for (const row of kept) {
    let left = 0;
    for (const { tile, h: ph, w: pw } of row) {
      for (let plane = 0; plane < tile.k * tile.c; plane++) {
        for (let y = 0; y < ph; y++) {
          const from = (plane * tile.h + y) * tile.w;
          out.set(tile.data.subarray(from, from + pw), (plane * outH + top + y) * outW + left);
        }
      }
      left += pw;
    }
    top += row[0]!.h;
  }
  return { data: out, dims: [first.k, first.c, outH, outW] };
}

/** `vae` decoding in tiles (same scaling factor and profile). */
export function tiledVaeDecoder(vae: VaeDecoder, tiling: VaeTiling): VaeDecoder {
  checkTiling(tiling);
  return {
    scalingFactor: vae.scalingFactor,
    ...(vae.profile ? { profile: vae.profile } : {}),
    decode: (latents) => tiledDecode(vae, latents, tiling),
  };
}
