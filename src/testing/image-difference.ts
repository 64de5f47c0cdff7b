/** Mean and largest absolute difference, in grey levels, of two 8-bit RGB images of the same size (for tests). */
import type { RgbImage } from '../core/image-io.js';

export function imageDifference(a: RgbImage, b: RgbImage): { mean: number; max: number } {
  if (a.width !== b.width || a.height !== b.height) throw new RangeError(`sizes differ: ${a.width}x${a.height} and ${b.width}x${b.height}`);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.data.length, max };
}
