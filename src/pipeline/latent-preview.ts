/**
 * Cheap previews of latents (PMG's `early` search, live step previews): average-pool the latents s x s before the
 * decoder, so it runs on 1/s² of the area, then (optionally) repeat each pixel s x s to get back to full size.
 * The scale actually used is the requested one lowered (4 -> 2 -> 1) until the pooled latent is at least
 * MIN_PREVIEW_LATENT on each side and the sides divide evenly; a CLIP scorer resizes to its own input
 * size anyway, so a smaller preview costs little in score quality.
 *
 * Which decoder: a tiny autoencoder (TAESD) whenever one is loaded — it decodes x0 at full size for a small fraction
 * of the VAE's cost, so its default scale is 1 — else the model's VAE on 2x2-pooled latents (`previewDecoder`).
 */
import { PmgError } from '../errors/pmg-error.js';
import type { DecoderKind, VaeDecoder } from '../spec/diffusion-models.js';
import type { PreviewScale } from '../spec/image-generator.js';
import type { FloatTensor } from '../spec/tensor.js';
import { decodeLatents } from './decode-latents.js';

export type { PreviewScale };
export const previewScales: readonly PreviewScale[] = [1, 2, 4];
export const DEFAULT_PREVIEW_SCALE: PreviewScale = 2;
/** With a tiny decoder previews are decoded at full size unless a scale is asked for. */
export const TINY_PREVIEW_SCALE: PreviewScale = 1;
/** Smallest side of a pooled preview latent (8 latent px = 64 image px). */
export const MIN_PREVIEW_LATENT = 8;

export function checkPreviewScale(scale: number, what = 'preview scale'): PreviewScale {
  if (!previewScales.includes(scale as PreviewScale))
    throw new PmgError('invalid-argument', `${what} must be 1, 2 or 4, got ${scale}`, { details: { field: what } });
  return scale as PreviewScale;
}

/** The scale used for latents of `height` x `width` (latent px): the requested one, lowered until it fits. */
export function effectivePreviewScale(requested: PreviewScale, height: number, width: number): PreviewScale {
  for (const s of [4, 2, 1] as const) {
    if (s > requested) continue;
    if (s === 1) return 1;
    if (height % s === 0 && width % s === 0 && height / s >= MIN_PREVIEW_LATENT && width / s >= MIN_PREVIEW_LATENT) return s;
  }
  return 1;
}

/** Average-pool `[k, c, h, w]` latents s x s -> `[k, c, h/s, w/s]` (h and w divisible by s). */
export function poolLatents(latents: FloatTensor, scale: number): FloatTensor {
  if (scale === 1) return latents;
  const [k, c, h, w] = latents.dims as [number, number, number, number];
  if (h % scale !== 0 || w % scale !== 0) throw new PmgError('invalid-argument', `latents of ${h}x${w} cannot be pooled by ${scale}`);
  const ph = h / scale;
  const pw = w / scale;
  const out = new Float32Array(k * c * ph * pw);
  const norm = 1 / (scale * scale);
  for (let plane = 0; plane < k * c; plane++) {
    const src = plane * h * w;
    const dst = plane * ph * pw;
    for (let y = 0; y < ph; y++) {
      for (let x = 0; x < pw; x++) {
        let sum = 0;
        for (let dy = 0; dy < scale; dy++) {
          const row = src + (y * scale + dy) * w + x * scale;
          for (let dx = 0; dx < scale; dx++) sum += latents.data[row + dx]!;
        }
        out[dst + y * pw + x] = sum * norm;
      }
    }
  }
  return { data: out, dims: [k, c, ph, pw] };
}

/** Images `[k, 3, h, w]` -> `[k, 3, h*s, w*s]`, each pixel repeated s x s. */
export function repeatPixels(images: FloatTensor, scale: number): FloatTensor {
  if (scale === 1) return images;
  const [k, c, h, w] = images.dims as [number, number, number, number];
  const oh = h * scale;
  const ow = w * scale;
  const out = new Float32Array(k * c * oh * ow);
  for (let plane = 0; plane < k * c; plane++) {
    const src = plane * h * w;
    const dst = plane * oh * ow;
    for (let y = 0; y < oh; y++) {
      const from = src + Math.floor(y / scale) * w;
      const to = dst + y * ow;
      for (let x = 0; x < ow; x++) out[to + x] = images.data[from + Math.floor(x / scale)]!;
    }
  }
  return { data: out, dims: [k, c, oh, ow] };
}

export interface PreviewOptions {
  /** Requested scale (default 2); lowered to fit (effectivePreviewScale). */
  scale?: PreviewScale;
  /** Repeat pixels back to the full image size (default true). */
  fullSize?: boolean;
  signal?: AbortSignal;
}

/** Decode a cheap preview of latents `[k, 4, h, w]`; returns the images and the scale used. */
export async function decodePreview(
  vae: VaeDecoder,
  latents: FloatTensor,
  options: PreviewOptions = {},
): Promise<{ images: FloatTensor; scale: PreviewScale }> {
  const [, , h, w] = latents.dims as [number, number, number, number];
  const scale = effectivePreviewScale(options.scale ?? DEFAULT_PREVIEW_SCALE, h, w);
  const small = await decodeLatents(vae, poolLatents(latents, scale), options.signal);
  return { images: options.fullSize === false ? small : repeatPixels(small, scale), scale };
}

/** The decoders a preview can use: the model's VAE, and a tiny autoencoder when one is loaded. */
export interface PreviewDecoders {
  vae: VaeDecoder;
  tiny?: VaeDecoder;
}

/** The decoder previews use (the tiny one whenever there is one) and its default scale. */
export function previewDecoder(decoders: PreviewDecoders): { kind: DecoderKind; decoder: VaeDecoder; defaultScale: PreviewScale } {
  return decoders.tiny
    ? { kind: 'tiny', decoder: decoders.tiny, defaultScale: TINY_PREVIEW_SCALE }
    : { kind: 'vae', decoder: decoders.vae, defaultScale: DEFAULT_PREVIEW_SCALE };
}

/** decodePreview with the preview decoder of `decoders`; `options.scale` defaults to that decoder's. */
export async function decodePreviewWith(
  decoders: PreviewDecoders,
  latents: FloatTensor,
  options: PreviewOptions = {},
): Promise<{ images: FloatTensor; scale: PreviewScale; decoder: DecoderKind }> {
  const chosen = previewDecoder(decoders);
  const preview = await decodePreview(chosen.decoder, latents, { ...options, scale: options.scale ?? chosen.defaultScale });
  return { ...preview, decoder: chosen.kind };
}
