/**
 * Hugging Face image processors (`preprocessor_config.json`) as transformers' Python classes run them, for the
 * networks pmg feeds itself (CLIP's image tower, DINO): resize, center crop, rescale, normalize, channels first.
 *
 * - resize: `size` {"shortest_edge": s} keeps the aspect: the short side becomes s, the long side
 *   int(s · long / short) (transformers' get_resize_output_image_size, truncated); {"height", "width"} is exact.
 *   A plain integer means {"shortest_edge": n} for CLIP-style processors (CLIPImageProcessor,
 *   CLIPFeatureExtractor, BitImageProcessor: get_size_dict(..., default_to_square=False)) and a square
 *   n x n for the others (ViTImageProcessor and the base class). Resampled by Pillow's Image.resize with the
 *   config's `resample` (3 = bicubic, CLIP's and DINOv2's; 2 = bilinear, DINO v1's): core/pil-resize.ts.
 * - center crop to `crop_size` (an integer n means n x n): top = floor((h - ch) / 2), left likewise; an image
 *   smaller than the crop is first padded with zeros (top pad ceil((ch - h) / 2)), as transformers does.
 * - rescale: float32(value · rescale_factor) (the product in float64, as numpy does); normalize: float32
 *   (x - mean) / std with mean and std as float32.
 * Missing fields take the class defaults: CLIP-style processors resize to shortest edge 224, bicubic, crop
 * 224, OpenAI CLIP mean/std; the others bilinear, no crop, mean/std 0.5.
 * Transparent pixels were composited over white when the image was read (core/image-io.ts), which is what
 * CLIPImageProcessor's convert_to_rgb does.
 */
import { existsSync, readFileSync } from 'node:fs';
import { PmgError } from '../errors/pmg-error.js';
import { parseJson } from './json-text.js';
import type { RgbImage } from './image-io.js';
import { PIL_RESAMPLE_CODES, pilResize, type PilFilter } from './pil-resize.js';

export const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

export interface ImageProcessorSteps {
  resize?: { shortestEdge: number } | { width: number; height: number };
  filter: PilFilter;
  crop?: { width: number; height: number };
  /** rescale_factor, when do_rescale. */
  rescale?: number;
  normalize?: { mean: number[]; std: number[] };
}

/** How a plain integer `size` is read: CLIP-style processors take it as the shortest edge. */
export type IntSizeRule = 'shortest-edge' | 'square';

const SHORTEST_EDGE_TYPES = /^(CLIP|ChineseCLIP|Bit)(ImageProcessor|FeatureExtractor)/;

/** The rule the processor class in the config follows (`image_processor_type` or `feature_extractor_type`). */
export function intSizeRule(config: Record<string, unknown>): IntSizeRule {
  const type = config.image_processor_type ?? config.feature_extractor_type;
  return typeof type === 'string' && SHORTEST_EDGE_TYPES.test(type) ? 'shortest-edge' : 'square';
}

const positive = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value > 0;
const entry = (value: unknown, key: string): unknown => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined);
/** {"height": h, "width": w} with positive integers, else undefined. */
function heightWidth(value: unknown): { width: number; height: number } | undefined {
  const height = entry(value, 'height');
  const width = entry(value, 'width');
  return positive(height) && positive(width) ? { width, height } : undefined;
}

/** The steps a processor config asks for. `source` names the config in error messages. */
export function imageProcessorSteps(config: Record<string, unknown>, options: { intSize?: IntSizeRule; source?: string } = {}): ImageProcessorSteps {
  const source = options.source ?? 'preprocessor config';
  const rule = options.intSize ?? intSizeRule(config);
  const clipLike = rule === 'shortest-edge';
  const fail = (field: string, want: string): never => {
    throw new PmgError('invalid-input', `${source}: ${field} must be ${want}, got ${JSON.stringify(config[field])}`, { details: { field } });
  };

  const resampleCode = config.resample ?? (clipLike ? 3 : 2);
  const filter = typeof resampleCode === 'number' ? PIL_RESAMPLE_CODES[resampleCode] : undefined;
  if (!filter) fail('resample', 'a Pillow filter code: 1 (lanczos), 2 (bilinear), 3 (bicubic), 4 (box) or 5 (hamming)');
  const steps: ImageProcessorSteps = { filter: filter! };

  if (config.do_resize !== false) {
    const size = config.size ?? (clipLike ? 224 : undefined);
    const shortestEdge = entry(size, 'shortest_edge');
    if (positive(size)) steps.resize = clipLike ? { shortestEdge: size } : { width: size, height: size };
    else if (positive(shortestEdge)) steps.resize = { shortestEdge };
    else steps.resize = heightWidth(size) ?? fail('size', 'a positive integer, {"shortest_edge": n} or {"height": h, "width": w}');
  }
  if (config.do_center_crop ?? (clipLike || config.crop_size !== undefined)) {
    const cropSize = config.crop_size ?? (clipLike ? 224 : undefined);
    steps.crop = positive(cropSize)
      ? { width: cropSize, height: cropSize }
      : (heightWidth(cropSize) ?? fail('crop_size', 'a positive integer or {"height": h, "width": w}'));
  }
  if (config.do_rescale !== false) {
    const factor = config.rescale_factor ?? 1 / 255;
    if (typeof factor !== 'number' || !(factor > 0)) fail('rescale_factor', 'a positive number');
    steps.rescale = factor as number;
  }
  if (config.do_normalize !== false) {
    const triple = (field: string, fallback: readonly number[]): number[] => {
      const value = config[field] ?? fallback;
      const list = typeof value === 'number' ? [value, value, value] : value;
      if (!Array.isArray(list) || list.length !== 3 || !list.every((v) => typeof v === 'number' && Number.isFinite(v)))
        fail(field, 'a number or a list of 3 numbers');
      return list as number[];
    };
    steps.normalize = {
      mean: triple('image_mean', clipLike ? OPENAI_CLIP_MEAN : [0.5, 0.5, 0.5]),
      std: triple('image_std', clipLike ? OPENAI_CLIP_STD : [0.5, 0.5, 0.5]),
    };
    if (steps.normalize.std.some((s) => s === 0)) fail('image_std', 'non-zero');
  }
  return steps;
}

/** Read and parse `preprocessor_config.json` (errors name the file). */
export function readImageProcessorConfig(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new PmgError('model-file-missing', `preprocessor config ${path} does not exist`, { details: { path } });
  const raw = parseJson(readFileSync(path, 'utf8'), `preprocessor config ${path}`);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new PmgError('invalid-input', `preprocessor config ${path} must hold a JSON object`, { details: { path } });
  return raw as Record<string, unknown>;
}

/** The 8-bit image after the resize and crop steps (before rescale and normalize). */
export function resizeAndCrop(image: RgbImage, steps: ImageProcessorSteps): RgbImage {
  let out = image;
  if (steps.resize) {
    let width: number;
    let height: number;
    if ('shortestEdge' in steps.resize) {
      const edge = steps.resize.shortestEdge;
      const [short, long] = image.width <= image.height ? [image.width, image.height] : [image.height, image.width];
      const newLong = Math.trunc((edge * long) / short);
      [width, height] = image.width <= image.height ? [edge, newLong] : [newLong, edge];
    } else {
      ({ width, height } = steps.resize);
    }
    out = pilResize(out, width, height, steps.filter);
  }
  return steps.crop ? centerCrop(out, steps.crop.width, steps.crop.height) : out;
}

/** transformers' center_crop: zero padding first when the image is smaller than the crop. */
export function centerCrop(image: RgbImage, width: number, height: number): RgbImage {
  if (image.width === width && image.height === height) return image;
  const paddedWidth = Math.max(width, image.width);
  const paddedHeight = Math.max(height, image.height);
  const padLeft = Math.ceil((paddedWidth - image.width) / 2);
  const padTop = Math.ceil((paddedHeight - image.height) / 2);
  const top = Math.floor((image.height - height) / 2) + padTop;
  const left = Math.floor((image.width - width) / 2) + padLeft;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = top + y - padTop;
    if (sy < 0 || sy >= image.height) continue;
    for (let x = 0; x < width; x++) {
      const sx = left + x - padLeft;
      if (sx < 0 || sx >= image.width) continue;
      const from = (sy * image.width + sx) * 3;
      const to = (y * width + x) * 3;
      data[to] = image.data[from]!;
      data[to + 1] = image.data[from + 1]!;
      data[to + 2] = image.data[from + 2]!;
    }
  }
  return { width, height, data };
}

/** All steps: float32 pixel values [1, 3, H, W] (what the processor returns as `pixel_values`). */
export function preprocessImage(image: RgbImage, steps: ImageProcessorSteps): { data: Float32Array; dims: number[] } {
  const prepared = resizeAndCrop(image, steps);
  const { width, height } = prepared;
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  const f32 = Math.fround;
  for (let c = 0; c < 3; c++) {
    const mean = steps.normalize ? f32(steps.normalize.mean[c]!) : 0;
    const std = steps.normalize ? f32(steps.normalize.std[c]!) : 1;
    for (let i = 0; i < plane; i++) {
      const raw = prepared.data[i * 3 + c]!;
      const value = steps.rescale === undefined ? raw : f32(raw * steps.rescale);
      data[c * plane + i] = steps.normalize ? f32(f32(value - mean) / std) : value;
    }
  }
  return { data, dims: [1, 3, height, width] };
}

/** All steps on several images of any sizes: `pixel_values` [N, 3, H, W]. */
export function preprocessBatch(images: readonly RgbImage[], steps: ImageProcessorSteps): { data: Float32Array; dims: number[] } {
  if (images.length === 0) throw new PmgError('invalid-argument', 'no images to preprocess');
  const prepared = images.map((image) => preprocessImage(image, steps));
  const [, channels, height, width] = prepared[0]!.dims as [number, number, number, number];
  const size = channels * height * width;
  const data = new Float32Array(prepared.length * size);
  prepared.forEach((p, n) => {
    if (p.data.length !== size)
      throw new PmgError(
        'invalid-argument',
        `the processor gives images of different sizes (${p.dims.join('x')} and ${prepared[0]!.dims.join('x')}); give it a crop or a fixed size`,
      );
    data.set(p.data, n * size);
  });
  return { data, dims: [prepared.length, channels, height, width] };
}

/**
 * transformers' CLIPImageProcessor on one image: `processorConfig` is the model's preprocessor_config.json
 * (an integer `size` is the shortest edge, as in CLIP). Returns `pixel_values` [1, 3, H, W].
 */
export function clipPreprocessImage(image: RgbImage, processorConfig: Record<string, unknown>): { data: Float32Array; dims: number[] } {
  return preprocessImage(image, imageProcessorSteps(processorConfig, { intSize: 'shortest-edge' }));
}
