/**
 * Image preprocessing for the embedding networks (DINO/DINOv2, Inception), following the fields of a
 * Hugging Face `preprocessor_config.json`:
 *   do_resize + size.shortest_edge (aspect kept; the short side becomes shortest_edge, the long side
 *   int(long * shortest_edge / short)) or size.height/size.width (exact), do_center_crop + crop_size
 *   (top/left = floor of half the excess), rescale 1/255, do_normalize with image_mean / image_std.
 * Resizing uses sharp's Lanczos-3 (core/image-io.ts); HF's PIL bicubic differs in the last digits.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resizeRgb, type RgbImage } from '../core/image-io.js';
import { parseJsonText } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';

export interface VisionPreprocess {
  resize?: { shortestEdge: number } | { width: number; height: number };
  crop?: { width: number; height: number };
  mean: number[];
  std: number[];
}

export function readPreprocessorConfig(path: string): VisionPreprocess {
  if (!existsSync(path)) throw new PmgError('model-file-missing', `preprocessor config ${path} does not exist`, { details: { path } });
  let raw: Record<string, unknown>;
  try {
    raw = parseJsonText(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new PmgError('invalid-input', `preprocessor config ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const size = raw.size as Record<string, number> | number | undefined;
  const crop = raw.crop_size as Record<string, number> | number | undefined;
  const mean = (raw.image_mean as number[] | undefined) ?? [0.5, 0.5, 0.5];
  const std = (raw.image_std as number[] | undefined) ?? [0.5, 0.5, 0.5];
  if (mean.length !== 3 || std.length !== 3) throw new PmgError('invalid-input', `preprocessor config ${path}: image_mean and image_std need 3 values each`);
  const out: VisionPreprocess = { mean, std };
  if (raw.do_resize !== false && size !== undefined) {
    if (typeof size === 'number') out.resize = { shortestEdge: size };
    else if (typeof size.shortest_edge === 'number') out.resize = { shortestEdge: size.shortest_edge };
    else if (typeof size.height === 'number' && typeof size.width === 'number') out.resize = { width: size.width, height: size.height };
    else throw new PmgError('invalid-input', `preprocessor config ${path}: size must have shortest_edge or height and width`);
  }
  if (raw.do_center_crop !== false && crop !== undefined) {
    out.crop = typeof crop === 'number' ? { width: crop, height: crop } : { width: crop.width!, height: crop.height! };
  }
  return out;
}

export async function preprocessImage(image: RgbImage, config: VisionPreprocess): Promise<RgbImage> {
  let out = image;
  if (config.resize) {
    if ('shortestEdge' in config.resize) {
      const edge = config.resize.shortestEdge;
      const short = Math.min(image.width, image.height);
      const width = image.width <= image.height ? edge : Math.trunc((image.width * edge) / short);
      const height = image.height < image.width ? edge : Math.trunc((image.height * edge) / short);
      out = await resizeRgb(out, width, height);
    } else {
      out = await resizeRgb(out, config.resize.width, config.resize.height);
    }
  }
  if (config.crop) out = centerCrop(out, config.crop.width, config.crop.height);
  return out;
}

export function centerCrop(image: RgbImage, width: number, height: number): RgbImage {
  if (image.width === width && image.height === height) return image;
  if (image.width < width || image.height < height) {
    throw new PmgError('invalid-argument', `cannot crop a ${image.width}x${image.height} image to ${width}x${height}`);
  }
  const left = Math.floor((image.width - width) / 2);
  const top = Math.floor((image.height - height) / 2);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * image.width + left) * 3;
    data.set(image.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { width, height, data };
}
