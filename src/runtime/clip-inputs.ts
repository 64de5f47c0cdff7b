/**
 * What pmg hands CLIP's two towers, made by pmg rather than by transformers.js's processors:
 * - images: 8-bit RGB (files and raw pixels pass through core/image-io.ts, so transparent pixels are composited
 *   over white), then transformers' CLIPImageProcessor steps from the model's preprocessor_config.json
 *   (core/image-processor.ts: Pillow bicubic resize of the shortest edge, center crop, rescale, normalize);
 * - texts: the tokenizer's ids with start and end tokens; a text longer than the window (77) keeps
 *   [start, its first 75 tokens, end], as Hugging Face tokenizers truncate, so the end token CLIP pools at
 *   stays in the last position (transformers.js's own truncation would cut it off).
 */
import { pixelsToRgb, readImageRgb, type RgbImage } from '../core/image-io.js';
import { preprocessBatch, type ImageProcessorSteps } from '../core/image-processor.js';
import { truncateKeepingEnd } from './clip-tokenizer.js';

/** Raw pixels as transformers.js's RawImage holds them. */
export interface RawPixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: number;
}

/** An image for CLIP: 8-bit RGB, raw pixels (RawImage), or a file path. */
export type ClipImageInput = RgbImage | RawPixels | string;

export async function clipImageRgb(input: ClipImageInput): Promise<RgbImage> {
  if (typeof input === 'string') return readImageRgb(input);
  if ('channels' in input) return pixelsToRgb(input);
  return input;
}

/** `pixel_values` [N, 3, H, W] for a batch of images. */
export async function clipPixelBatch(images: readonly ClipImageInput[], steps: ImageProcessorSteps): Promise<{ data: Float32Array; dims: number[] }> {
  return preprocessBatch(await Promise.all(images.map(clipImageRgb)), steps);
}

/**
 * `input_ids` and `attention_mask` [N, L] (int64) from token ids that already carry start and end tokens:
 * each cut to `maxLength` keeping its end token last, then padded with `padId` to the longest.
 */
export function clipTokenBatch(
  encoded: readonly (readonly number[])[],
  maxLength: number,
  padId: number,
): { ids: BigInt64Array; mask: BigInt64Array; dims: number[]; truncated: number } {
  const rows = encoded.map((ids) => truncateKeepingEnd(ids, maxLength));
  const length = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * length);
  const mask = new BigInt64Array(rows.length * length);
  rows.forEach((row, n) => {
    for (let i = 0; i < length; i++) {
      ids[n * length + i] = BigInt(i < row.length ? row[i]! : padId);
      mask[n * length + i] = i < row.length ? 1n : 0n;
    }
  });
  return { ids, mask, dims: [rows.length, length], truncated: encoded.filter((ids) => ids.length > maxLength).length };
}
