/**
 * Turning RGB images into NCHW float32 batches for the metric networks, and pairing a generated
 * image with references of other sizes.
 *
 * Size policy of the metrics (documented in `pmg metrics --help`):
 * - SSIM, MS-SSIM, LPIPS compare pixels/feature maps position by position: the generated image is
 *   resized to each reference's size (Lanczos-3, core/image-io.ts) before comparing.
 * - CLIP-I, DINO, FID resize every image to the network's own input size, so sizes never clash.
 */
import { cosineSimilarity } from '../core/cosine-similarity.js';
import { resizeRgb, type RgbImage } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';

/**
 * NCHW float32 from same-size images: value = (pixel/255 - mean[c]) / std[c].
 * (LPIPS's [-1,1] scaling followed by its shift/scale is also of this form.)
 */
export function toNchw(images: readonly RgbImage[], mean: readonly number[], std: readonly number[]): { data: Float32Array; dims: number[] } {
  if (images.length === 0) throw new PmgError('invalid-argument', 'no images to batch');
  const { width, height } = images[0]!;
  const plane = width * height;
  const data = new Float32Array(images.length * 3 * plane);
  images.forEach((image, n) => {
    if (image.width !== width || image.height !== height) {
      throw new PmgError('internal', `batch images differ in size (${width}x${height} and ${image.width}x${image.height})`);
    }
    for (let c = 0; c < 3; c++) {
      const scale = 1 / (255 * std[c]!);
      const offset = mean[c]! / std[c]!;
      const base = (n * 3 + c) * plane;
      for (let i = 0; i < plane; i++) data[base + i] = image.data[i * 3 + c]! * scale - offset;
    }
  });
  return { data, dims: [images.length, 3, height, width] };
}

/** The generated image at the size of each reference (resized once per distinct size). */
export async function alignToReferences(generated: RgbImage, references: readonly RgbImage[]): Promise<RgbImage[]> {
  const bySize = new Map<string, Promise<RgbImage>>();
  return Promise.all(
    references.map((reference) => {
      const key = `${reference.width}x${reference.height}`;
      let resized = bySize.get(key);
      if (!resized) {
        resized = resizeRgb(generated, reference.width, reference.height);
        bySize.set(key, resized);
      }
      return resized;
    }),
  );
}

/** Split into chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new PmgError('invalid-argument', `batch size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Cosine similarity of two embeddings of the same size. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new PmgError('invalid-argument', `embedding sizes differ: ${a.length} and ${b.length}`);
  return cosineSimilarity(a, b);
}
