/**
 * MS-SSIM (Wang, Simoncelli & Bovik 2003), built on the SSIM of ./ssim.ts (Gaussian 11x11,
 * sigma 1.5, K1 0.01, K2 0.03, data range 255, population covariance, valid region).
 *
 * Convention (close to pytorch_msssim / tf.image.ssim_multiscale; stated here because
 * implementations differ — they pad an odd row/column before pooling where this drops it, which changes
 * the value only when an intermediate scale has an odd side, in the 5th decimal on the test images):
 * - 5 scales, weights [0.0448, 0.2856, 0.3001, 0.2363, 0.1333].
 * - Between scales: 2x2 average pooling with stride 2; an odd last row/column is dropped.
 * - Scales 1..4 contribute their mean contrast-structure term cs_j, scale 5 its full mean SSIM.
 *   Negative terms are clamped at 0 before the power (as pytorch_msssim does).
 *   MS-SSIM = prod_{j<5} cs_j^{w_j} * ssim_5^{w_5}, per channel, then the mean of the channels
 *   ('rgb') or on BT.601 luma ('luma').
 * - The coarsest scale must still hold an 11x11 window: both sides >= 11 * 16 = 176 pixels.
 */
import type { RgbImage } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';
import { SSIM_WINDOW, channelPlane, checkPair, lumaPlane, ssimStats, type Plane, type SsimOptions } from './ssim.js';

export const MS_SSIM_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333] as const;
export const MS_SSIM_MIN_SIDE = SSIM_WINDOW * 2 ** (MS_SSIM_WEIGHTS.length - 1);

export function msSsim(a: RgbImage, b: RgbImage, options: SsimOptions = {}): number {
  checkPair(a, b, 'MS-SSIM', MS_SSIM_MIN_SIDE);
  const mode = options.mode ?? 'rgb';
  if (mode === 'luma') return msSsimPlanes(lumaPlane(a), lumaPlane(b));
  if (mode !== 'rgb') throw new PmgError('invalid-argument', `MS-SSIM mode '${String(mode)}' is not known; use 'rgb' or 'luma'`);
  let total = 0;
  for (let c = 0; c < 3; c++) total += msSsimPlanes(channelPlane(a, c), channelPlane(b, c));
  return total / 3;
}

export function msSsimPlanes(x: Plane, y: Plane): number {
  let value = 1;
  let px = x;
  let py = y;
  for (let level = 0; level < MS_SSIM_WEIGHTS.length; level++) {
    const stats = ssimStats(px, py);
    const last = level === MS_SSIM_WEIGHTS.length - 1;
    const term = Math.max(0, last ? stats.ssim : stats.cs);
    value *= term ** MS_SSIM_WEIGHTS[level]!;
    if (!last) {
      px = averagePool2(px);
      py = averagePool2(py);
    }
  }
  return value;
}

/** 2x2 mean with stride 2; an odd last row/column is dropped. */
export function averagePool2(plane: Plane): Plane {
  const width = Math.floor(plane.width / 2);
  const height = Math.floor(plane.height / 2);
  const data = new Float64Array(width * height);
  const src = plane.data;
  const w = plane.width;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 2 * y * w + 2 * x;
      data[y * width + x] = (src[i]! + src[i + 1]! + src[i + w]! + src[i + w + 1]!) / 4;
    }
  }
  return { width, height, data };
}
