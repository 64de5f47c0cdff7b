/**
 * Reading images as 8-bit RGB and resizing them, through sharp (prebuilt libvips).
 *
 * - Every image becomes 3 interleaved channels (R, G, B), 8 bits each: grey images are
 *   expanded to RGB, an alpha channel is composited over white (transparent pixels become white; every
 *   metric and CLIP input goes through here), EXIF orientation is applied.
 * - `resizeRgb` uses libvips' **Lanczos-3** kernel (sharp's default; `fit: 'fill'`, so the
 *   aspect ratio is not kept), the filter the metrics use when a generated image has another
 *   size than its reference.
 */
import { existsSync } from 'node:fs';
import sharp, { type Sharp } from 'sharp';
import { PmgError } from '../errors/pmg-error.js';
import { withPngText, type PngText } from './png-text.js';

export interface RgbImage {
  width: number;
  height: number;
  /** RGB interleaved, row-major, length width*height*3. */
  data: Uint8Array;
}

/** What every image read here goes through, as `pmg metrics` and the eval reports state it. */
export const TRANSPARENCY_NOTE = 'transparent pixels are composited over white';

/** The resampling kernel used by `resizeRgb` (documented for reports). */
export const RESIZE_KERNEL = 'lanczos3';

export async function readImageRgb(path: string): Promise<RgbImage> {
  if (!existsSync(path)) throw new PmgError('file-not-found', `image ${path} does not exist`, { details: { path } });
  return toRgb(sharp(path), `image ${path}`, { path });
}

/** Encoded image bytes (PNG, JPEG, WebP) → RGB, exactly as readImageRgb reads files (alpha over white). */
export async function decodeImageRgb(bytes: Uint8Array, label = 'image bytes'): Promise<RgbImage> {
  return toRgb(sharp(bytes), label, {});
}

/** Raw 8-bit pixels with 1-4 channels (grey, grey + alpha, RGB, RGBA) → RGB, alpha composited over white. */
export async function pixelsToRgb(pixels: { data: ArrayLike<number> & ArrayBufferView; width: number; height: number; channels: number }): Promise<RgbImage> {
  const { width, height, channels } = pixels;
  if (channels === 3 && pixels.data.byteLength === width * height * 3) {
    return { width, height, data: new Uint8Array(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength) };
  }
  if (![1, 2, 4].includes(channels) || pixels.data.byteLength !== width * height * channels) {
    throw new PmgError(
      'invalid-argument',
      `raw image of ${width}x${height} with ${channels} channels needs ${width * height * channels} bytes, got ${pixels.data.byteLength}`,
    );
  }
  const raw = Buffer.from(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength);
  return toRgb(sharp(raw, { raw: { width, height, channels: channels as 1 | 2 | 4 } }), 'raw image', {});
}

/** The one decoding pipeline: EXIF rotation, alpha composited over white, sRGB, 3 channels. */
async function toRgb(pipeline: Sharp, label: string, details: Record<string, unknown>): Promise<RgbImage> {
  try {
    const { data, info } = await pipeline
      .rotate()
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (error) {
    if (error instanceof PmgError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new PmgError('invalid-input', `cannot read ${label}: ${message.split('\n')[0]}; give a PNG, JPEG or WebP file`, { cause: error, details });
  }
}

/** Resize to exactly width x height with a Lanczos-3 kernel. Returns the same object when the size already matches. */
export async function resizeRgb(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  checkRgb(image);
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: RESIZE_KERNEL })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Encode as PNG bytes, with optional text chunks (e.g. the generation parameters; see png-text.ts). */
export async function encodePng(image: RgbImage, texts: readonly PngText[] = []): Promise<Buffer> {
  checkRgb(image);
  const png = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
  return texts.length === 0 ? png : withPngText(png, texts);
}

export function checkRgb(image: RgbImage): void {
  if (image.data.length !== image.width * image.height * 3) {
    throw new PmgError(
      'invalid-argument',
      `RGB image of ${image.width}x${image.height} needs ${image.width * image.height * 3} bytes, got ${image.data.length}`,
    );
  }
}
