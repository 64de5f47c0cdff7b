/**
 * The FID network's input, made the way pytorch-fid makes it (src/pytorch_fid/inception.py `forward`, with
 * torchvision's ToTensor before it):
 * 1. uint8 → float32 in [0, 1] (value / 255);
 * 2. F.interpolate(x, size=(S, S), mode='bilinear', align_corners=False): half-pixel centres,
 *    source = ratio · (dst + 0.5) - 0.5 clamped at 0 with ratio = in / out rounded to float32 (the source
 *    position itself is not rounded to float32; checked against torch 1.13's output), the upper neighbour
 *    clamped at the last pixel, no antialiasing when shrinking; the same size is copied as is
 *    (ATen's CPU upsample_bilinear2d: height weights outside, width weights inside);
 * 3. 2 x - 1, so values lie in [-1, 1].
 * Weights are float32 and the weighted sums are rounded to float32 after every operation, as in torch's
 * kernel (differences from torch 1.13 are at most a few float32 ulps).
 */
import type { RgbImage } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';

interface Taps {
  index0: Int32Array;
  index1: Int32Array;
  weight0: Float64Array;
  weight1: Float64Array;
}

const f32 = Math.fround;

/** Source indices and weights along one axis (ATen's compute_source_index_and_lambda, align_corners=false). */
export function bilinearTaps(inSize: number, outSize: number): Taps {
  const taps: Taps = {
    index0: new Int32Array(outSize),
    index1: new Int32Array(outSize),
    weight0: new Float64Array(outSize),
    weight1: new Float64Array(outSize),
  };
  const ratio = f32(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    if (inSize === outSize) {
      taps.index0[o] = o;
      taps.index1[o] = o;
      taps.weight0[o] = 1;
      continue;
    }
    const source = Math.max(0, ratio * (o + 0.5) - 0.5);
    const index = Math.min(Math.floor(source), inSize - 1);
    const lambda = f32(Math.min(Math.max(source - index, 0), 1));
    taps.index0[o] = index;
    taps.index1[o] = index + (index < inSize - 1 ? 1 : 0);
    taps.weight1[o] = lambda;
    taps.weight0[o] = f32(1 - lambda);
  }
  return taps;
}

/** NCHW float32 [N, 3, size, size] in [-1, 1] from 8-bit RGB images of any sizes. */
export function inceptionInput(images: readonly RgbImage[], size: number): { data: Float32Array; dims: number[] } {
  if (images.length === 0) throw new PmgError('invalid-argument', 'no images to batch');
  const plane = size * size;
  const data = new Float32Array(images.length * 3 * plane);
  images.forEach((image, n) => {
    const { width, height } = image;
    const xs = bilinearTaps(width, size);
    const ys = bilinearTaps(height, size);
    for (let c = 0; c < 3; c++) {
      const base = (n * 3 + c) * plane;
      const value = (x: number, y: number) => f32(image.data[(y * width + x) * 3 + c]! / 255);
      for (let oy = 0; oy < size; oy++) {
        const y0 = ys.index0[oy]!;
        const y1 = ys.index1[oy]!;
        const h0 = ys.weight0[oy]!;
        const h1 = ys.weight1[oy]!;
        for (let ox = 0; ox < size; ox++) {
          const x0 = xs.index0[ox]!;
          const x1 = xs.index1[ox]!;
          const w0 = xs.weight0[ox]!;
          const w1 = xs.weight1[ox]!;
          const top = f32(f32(w0 * value(x0, y0)) + f32(w1 * value(x1, y0)));
          const bottom = f32(f32(w0 * value(x0, y1)) + f32(w1 * value(x1, y1)));
          data[base + oy * size + ox] = 2 * f32(f32(h0 * top) + f32(h1 * bottom)) - 1;
        }
      }
    }
  });
  return { data, dims: [images.length, 3, size, size] };
}
