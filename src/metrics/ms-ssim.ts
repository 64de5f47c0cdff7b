/**
 * MS-SSIM (Wang, Simoncelli & Bovik 2003) as pytorch_msssim's `ms_ssim` computes it (VainF/pytorch-msssim,
 * pytorch_msssim/ssim.py, with its defaults: data_range 255, win_size 11, win_sigma 1.5, K (0.01, 0.03)),
 * built on the SSIM of ./ssim.ts (Gaussian 11x11 applied over the valid region, population covariance):
 * - The window is pytorch_msssim's: the 11 Gaussian taps made in float32 (exp of -x^2/4.5 rounded to float32,
 *   divided by their sum in float32), then used in float64; they differ from ./ssim.ts's float64 taps by
 *   about 3e-8, which moves MS-SSIM by up to ~3e-7.
 * - 5 scales, weights [0.0448, 0.2856, 0.3001, 0.2363, 0.1333].
 * - Between scales: F.avg_pool2d(kernel_size=2, padding=[H % 2, W % 2]): 2x2 means with stride 2; a side of
 *   odd length is padded with one zero row/column on each side (only the leading one is reached), and the
 *   zeros count in the mean (count_include_pad), so an odd side n becomes (n + 1) / 2.
 * - Scales 1..4 contribute their mean contrast-structure term cs_j, scale 5 its full mean SSIM; each is
 *   clamped at 0 (relu) before the power. MS-SSIM = prod_{j<5} cs_j^{w_j} * ssim_5^{w_5}, per channel, then
 *   the mean of the channels ('rgb'), or on BT.601 luma ('luma', the same arithmetic on one channel).
 * - Sizes: pytorch_msssim asserts smaller side > (11 - 1) * 2^4 = 160, so 161 pixels a side is the least
 *   accepted (the 5th scale is then 11 wide); the same sizes are accepted here and others refused.
 * Checked against a torch implementation of that arithmetic on odd sizes (177x181, 200x300, 161x175,
 * 190x163; src/metrics/reference/ms-ssim.json).
 */
import type { RgbImage } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';
import { SSIM_WINDOW, channelPlane, checkPair, lumaPlane, ssimStats, type Plane, type SsimOptions } from './ssim.js';

export const MS_SSIM_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333] as const;
/** Smallest side accepted: pytorch_msssim asserts smaller side > (win_size - 1) * 2^4. */
export const MS_SSIM_MIN_SIDE = (SSIM_WINDOW - 1) * 2 ** (MS_SSIM_WEIGHTS.length - 1) + 1;

export function msSsim(a: RgbImage, b: RgbImage, options: SsimOptions = {}): number {
  checkPair(a, b, 'MS-SSIM', MS_SSIM_MIN_SIDE);
  const mode = options.mode ?? 'rgb';
  if (mode === 'luma') return msSsimPlanes(lumaPlane(a), lumaPlane(b));
  if (mode !== 'rgb') throw new PmgError('invalid-argument', `MS-SSIM mode '${String(mode)}' is not known; use 'rgb' or 'luma'`);
  let total = 0;
  for (let c = 0; c < 3; c++) total += msSsimPlanes(channelPlane(a, c), channelPlane(b, c));
  return total / 3;
}

/** pytorch_msssim's _fspecial_gauss_1d(11, 1.5): float32 arithmetic, as torch computes it. */
export function pytorchMsssimTaps(size = SSIM_WINDOW, sigma = 1.5): Float64Array {
  const f32 = Math.fround;
  const raw = Array.from({ length: size }, (_, i) => {
    const c = i - Math.floor(size / 2);
    return f32(Math.exp(f32(-(c * c) / (2 * sigma * sigma))));
  });
  const sum = f32(raw.reduce((a, b) => a + b, 0));
  return Float64Array.from(raw, (v) => f32(v / sum));
}

const TAPS = pytorchMsssimTaps();

export function msSsimPlanes(x: Plane, y: Plane): number {
  let value = 1;
  let px = x;
  let py = y;
  for (let level = 0; level < MS_SSIM_WEIGHTS.length; level++) {
    const stats = ssimStats(px, py, TAPS);
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

/**
 * F.avg_pool2d(kernel_size=2, stride=2, padding=[H % 2, W % 2]) with count_include_pad: output pixel (y, x)
 * is a quarter of the sum over source rows 2y - pH, 2y - pH + 1 and columns 2x - pW, 2x - pW + 1, where
 * rows/columns outside the plane count as 0.
 */
export function averagePool2(plane: Plane): Plane {
  const padY = plane.height % 2;
  const padX = plane.width % 2;
  const width = Math.floor((plane.width + 2 * padX - 2) / 2) + 1;
  const height = Math.floor((plane.height + 2 * padY - 2) / 2) + 1;
  const data = new Float64Array(width * height);
  const src = plane.data;
  const w = plane.width;
  const h = plane.height;
  for (let y = 0; y < height; y++) {
    const top = 2 * y - padY;
    for (let x = 0; x < width; x++) {
      const left = 2 * x - padX;
      let sum = 0;
      for (let dy = 0; dy < 2; dy++) {
        const sy = top + dy;
        if (sy < 0 || sy >= h) continue;
        for (let dx = 0; dx < 2; dx++) {
          const sx = left + dx;
          if (sx >= 0 && sx < w) sum += src[sy * w + sx]!;
        }
      }
      data[y * width + x] = sum / 4;
    }
  }
  return { width, height, data };
}
