/**
 * Pillow's `Image.resize(size, resample)` for 8-bit RGB images, as Pillow's C code computes it
 * (src/libImaging/Resample.c, `ImagingResample`; read from Pillow 9.4.0, written here from that reading):
 *
 * - Separable: a horizontal pass (only when the width changes), then a vertical pass (only when the height
 *   changes); the horizontal pass writes 8-bit values, which the vertical pass reads.
 * - Per output pixel xx: scale = in / out, filterscale = max(scale, 1), support = filter support · filterscale
 *   (the kernel is stretched when shrinking: antialiasing), center = (xx + 0.5) · scale,
 *   xmin = trunc(center - support + 0.5) clamped at 0, xmax = trunc(center + support + 0.5) clamped at in;
 *   weights filter((x + xmin - center + 0.5) / filterscale), divided by their sum (float64).
 * - Weights become integers with 22 fraction bits, trunc(w · 2^22 ± 0.5); a pixel is
 *   (2^21 + Σ value · weight) >> 22, clipped to 0..255.
 * - Filters: bicubic a = -0.5 (support 2), bilinear (1), box (0.5), hamming (1), lanczos (3).
 * - Same size in and out: a copy.
 */
import type { RgbImage } from './image-io.js';

export type PilFilter = 'box' | 'bilinear' | 'hamming' | 'bicubic' | 'lanczos';

/** Pillow's Resampling enum values, as `resample` in Hugging Face preprocessor configs. */
export const PIL_RESAMPLE_CODES: Readonly<Record<number, PilFilter>> = { 1: 'lanczos', 2: 'bilinear', 3: 'bicubic', 4: 'box', 5: 'hamming' };

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

function sinc(x: number): number {
  if (x === 0) return 1;
  const t = x * Math.PI;
  return Math.sin(t) / t;
}

const FILTERS: Record<PilFilter, { support: number; weight: (x: number) => number }> = {
  box: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  hamming: {
    support: 1,
    weight: (x) => {
      const ax = Math.abs(x);
      if (ax === 0) return 1;
      if (ax >= 1) return 0;
      const t = ax * Math.PI;
      return (Math.sin(t) / t) * (Math.fround(0.54) + Math.fround(0.46) * Math.cos(t));
    },
  },
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      const ax = Math.abs(x);
      if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
      if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

interface Coefficients {
  ksize: number;
  /** Per output pixel: first input index and number of inputs. */
  first: Int32Array;
  count: Int32Array;
  /** Integer weights, ksize per output pixel. */
  weights: Float64Array;
}

/** precompute_coeffs + normalize_coeffs_8bpc for one axis. */
export function resampleCoefficients(inSize: number, outSize: number, filter: PilFilter): Coefficients {
  const { support: baseSupport, weight } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = baseSupport * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = weight((x + xmin - center + 0.5) * ss);
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum !== 0 ? k[x]! / sum : k[x]!;
      weights[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * ONE : 0.5 + w * ONE);
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, first, count, weights };
}

function clip8(sum: number): number {
  const value = Math.floor(sum / ONE);
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

/** Pillow's Image.resize((width, height), resample=filter) of an 8-bit RGB image. */
export function pilResize(image: RgbImage, width: number, height: number, filter: PilFilter = 'bicubic'): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`pilResize: output size ${width}x${height} is not a positive integer size`);
  }
  if (image.width === width && image.height === height) return { width, height, data: Uint8Array.from(image.data) };
  const vertical = resampleCoefficients(image.height, height, filter);
  let source = image;
  let rowOffset = 0;
  if (width !== image.width) {
    // Only the input rows the vertical pass reads: bounds_vert[0] .. last first + last count.
    const firstRow = height !== image.height ? vertical.first[0]! : 0;
    const lastRow = height !== image.height ? vertical.first[height - 1]! + vertical.count[height - 1]! : image.height;
    source = horizontalPass(image, width, firstRow, lastRow, resampleCoefficients(image.width, width, filter));
    rowOffset = firstRow;
  }
  if (height === image.height) return source;
  return verticalPass(source, height, rowOffset, vertical);
}

/**
 * One pass of ImagingResampleHorizontal_8bpc / ImagingResampleVertical_8bpc: along `lines` lines (rows for
 * the horizontal pass, columns for the vertical one), output o of a line is
 * clip8(2^21 + Σ_t src[start + line · lineStride + (first[o] + t) · step] · weight[o][t]), per channel.
 */
function resampleAxis(
  src: Uint8Array,
  source: { start: number; lineStride: number; step: number },
  lines: number,
  out: Uint8Array,
  target: { lineStride: number; step: number },
  c: Coefficients,
): void {
  const outCount = c.first.length;
  for (let line = 0; line < lines; line++) {
    const base = source.start + line * source.lineStride;
    for (let o = 0; o < outCount; o++) {
      const first = c.first[o]!;
      const n = c.count[o]!;
      const kBase = o * c.ksize;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let t = 0; t < n; t++) {
        const w = c.weights[kBase + t]!;
        const p = base + (first + t) * source.step;
        s0 += src[p]! * w;
        s1 += src[p + 1]! * w;
        s2 += src[p + 2]! * w;
      }
      const q = line * target.lineStride + o * target.step;
      out[q] = clip8(s0);
      out[q + 1] = clip8(s1);
      out[q + 2] = clip8(s2);
    }
  }
}

function horizontalPass(image: RgbImage, width: number, firstRow: number, lastRow: number, c: Coefficients): RgbImage {
  const rows = lastRow - firstRow;
  const data = new Uint8Array(width * rows * 3);
  resampleAxis(image.data, { start: firstRow * image.width * 3, lineStride: image.width * 3, step: 3 }, rows, data, { lineStride: width * 3, step: 3 }, c);
  return { width, height: rows, data };
}

function verticalPass(image: RgbImage, height: number, rowOffset: number, c: Coefficients): RgbImage {
  const { width } = image;
  const data = new Uint8Array(width * height * 3);
  resampleAxis(image.data, { start: -rowOffset * width * 3, lineStride: 3, step: width * 3 }, width, data, { lineStride: 3, step: width * 3 }, c);
  return { width, height, data };
}
