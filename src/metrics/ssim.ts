/**
 * SSIM (Wang et al. 2004) with scikit-image's conventions, computed in float64:
 *
 *   structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
 *                         data_range=255, channel_axis=-1)
 *
 * - Gaussian window sigma 1.5 truncated at 3.5 sigma: radius int(3.5*1.5 + 0.5) = 5, so 11x11 taps,
 *   normalised to sum 1 (separable, applied along rows then columns).
 * - K1 0.01, K2 0.03, data range 255 (8-bit values as they are, never rescaled to [0,1]);
 *   C1 = (K1*255)^2, C2 = (K2*255)^2.
 * - Population (biased) variances and covariance: E[x^2] - E[x]^2 under the window, no N/(N-1).
 * - The SSIM map is averaged over the pixels whose whole window lies inside the image: skimage
 *   filters with reflection and then crops (win-1)/2 = 5 pixels on every side, which gives the
 *   same numbers as filtering only that valid region (done here).
 * - No downsampling (MATLAB's ssim_index downsamples by round(min(W,H)/256); skimage does not).
 * - 'rgb' mode: SSIM per channel, then the mean of the three. 'luma' mode: SSIM of
 *   Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601 weights, float, not rounded), data range 255.
 * Both images must have the same size (callers resize first, see metrics/image-pairs.ts);
 * each side must be at least 11 pixels.
 */
import type { RgbImage } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';

export type SsimMode = 'rgb' | 'luma';

export const SSIM_CONSTANTS = {
  sigma: 1.5,
  truncate: 3.5,
  k1: 0.01,
  k2: 0.03,
  dataRange: 255,
} as const;

export interface SsimOptions {
  /** 'rgb' (mean of per-channel SSIM, default) or 'luma'. */
  mode?: SsimMode;
}

/** One grey plane in float64. */
export interface Plane {
  width: number;
  height: number;
  data: Float64Array;
}

/** The normalised 1-D Gaussian taps (length 2*radius+1) that scipy.ndimage.gaussian_filter uses. */
export function gaussianTaps(sigma: number = SSIM_CONSTANTS.sigma, truncate: number = SSIM_CONSTANTS.truncate): Float64Array {
  const radius = Math.trunc(truncate * sigma + 0.5);
  const taps = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const value = Math.exp((-0.5 / (sigma * sigma)) * i * i);
    taps[i + radius] = value;
    sum += value;
  }
  for (let i = 0; i < taps.length; i++) taps[i]! /= sum;
  return taps;
}

const TAPS = gaussianTaps();
export const SSIM_WINDOW = TAPS.length;

/** SSIM of two RGB images of the same size (1 = identical). */
export function ssim(a: RgbImage, b: RgbImage, options: SsimOptions = {}): number {
  checkPair(a, b, 'SSIM', SSIM_WINDOW);
  const mode = options.mode ?? 'rgb';
  if (mode === 'luma') return ssimStats(lumaPlane(a), lumaPlane(b)).ssim;
  if (mode !== 'rgb') throw new PmgError('invalid-argument', `SSIM mode '${String(mode)}' is not known; use 'rgb' or 'luma'`);
  let total = 0;
  for (let c = 0; c < 3; c++) total += ssimStats(channelPlane(a, c), channelPlane(b, c)).ssim;
  return total / 3;
}

/**
 * Mean SSIM and mean contrast-structure term cs = (2 sxy + C2) / (sx^2 + sy^2 + C2) of two planes,
 * both averaged over the valid region (MS-SSIM uses cs at its finer scales).
 */
export function ssimStats(x: Plane, y: Plane, taps: Float64Array = TAPS): { ssim: number; cs: number } {
  const { width, height } = x;
  if (width < taps.length || height < taps.length) {
    throw new PmgError('invalid-argument', `SSIM needs images of at least ${SSIM_WINDOW}x${SSIM_WINDOW} pixels, got ${width}x${height}`);
  }
  const n = width * height;
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = x.data[i]!;
    const v = y.data[i]!;
    xx[i] = u * u;
    yy[i] = v * v;
    xy[i] = u * v;
  }
  const mx = filterValid(x.data, width, height, taps);
  const my = filterValid(y.data, width, height, taps);
  const mxx = filterValid(xx, width, height, taps);
  const myy = filterValid(yy, width, height, taps);
  const mxy = filterValid(xy, width, height, taps);
  const c1 = (SSIM_CONSTANTS.k1 * SSIM_CONSTANTS.dataRange) ** 2;
  const c2 = (SSIM_CONSTANTS.k2 * SSIM_CONSTANTS.dataRange) ** 2;
  let ssimSum = 0;
  let csSum = 0;
  const count = mx.length;
  for (let i = 0; i < count; i++) {
    const ux = mx[i]!;
    const uy = my[i]!;
    const vx = mxx[i]! - ux * ux;
    const vy = myy[i]! - uy * uy;
    const vxy = mxy[i]! - ux * uy;
    const a1 = 2 * ux * uy + c1;
    const a2 = 2 * vxy + c2;
    const b1 = ux * ux + uy * uy + c1;
    const b2 = vx + vy + c2;
    ssimSum += (a1 * a2) / (b1 * b2);
    csSum += a2 / b2;
  }
  return { ssim: ssimSum / count, cs: csSum / count };
}

/** Gaussian filter over the valid region only: output (height-10) x (width-10), rows then columns. */
function filterValid(data: Float64Array, width: number, height: number, taps: Float64Array): Float64Array {
  const k = taps.length;
  const outW = width - k + 1;
  const outH = height - k + 1;
  const rows = new Float64Array(height * outW);
  for (let yRow = 0; yRow < height; yRow++) {
    const base = yRow * width;
    for (let xCol = 0; xCol < outW; xCol++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += taps[t]! * data[base + xCol + t]!;
      rows[yRow * outW + xCol] = acc;
    }
  }
  const out = new Float64Array(outH * outW);
  for (let yRow = 0; yRow < outH; yRow++) {
    for (let xCol = 0; xCol < outW; xCol++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += taps[t]! * rows[(yRow + t) * outW + xCol]!;
      out[yRow * outW + xCol] = acc;
    }
  }
  return out;
}

export function channelPlane(image: RgbImage, channel: number): Plane {
  const n = image.width * image.height;
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = image.data[i * 3 + channel]!;
  return { width: image.width, height: image.height, data };
}

export function lumaPlane(image: RgbImage): Plane {
  const n = image.width * image.height;
  const data = new Float64Array(n);
  const d = image.data;
  for (let i = 0; i < n; i++) data[i] = 0.299 * d[i * 3]! + 0.587 * d[i * 3 + 1]! + 0.114 * d[i * 3 + 2]!;
  return { width: image.width, height: image.height, data };
}

export function checkPair(a: RgbImage, b: RgbImage, metric: string, minSide: number): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new PmgError(
      'invalid-argument',
      `${metric} needs images of the same size, got ${a.width}x${a.height} and ${b.width}x${b.height}; resize the generated image to the reference's size first`,
      { details: { sizes: [`${a.width}x${a.height}`, `${b.width}x${b.height}`] } },
    );
  }
  if (a.width < minSide || a.height < minSide) {
    throw new PmgError('invalid-argument', `${metric} needs images of at least ${minSide}x${minSide} pixels, got ${a.width}x${a.height}`);
  }
}
