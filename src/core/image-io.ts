/**
 * Reading images as 8-bit RGB and resizing them, through sharp (prebuilt libvips).
 *
 * - Every image becomes 3 interleaved channels (R, G, B), 8 bits each: grey images are
 *   expanded to RGB, an alpha channel is composited over white, EXIF orientation is applied.
 * - `resizeRgb` uses libvips' **Lanczos-3** kernel (sharp's default; `fit: 'fill'`, so the
 *   aspect ratio is not kept), the filter the metrics use when a generated image has another
 *   size than its reference.
 */
import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { PmgError } from '../errors/pmg-error.js';
import { withPngText, type PngText } from './png-text.js';

export interface RgbImage {
  width: number;
  height: number;
  /** RGB interleaved, row-major, length width*height*3. */
  data: Uint8Array;
}

/** The resampling kernel used by `resizeRgb` (documented for reports). */
export const RESIZE_KERNEL = 'lanczos3';

export async function readImageRgb(path: string): Promise<RgbImage> {
  if (!existsSync(path)) throw new PmgError('file-not-found', `image ${path} does not exist`, { details: { path } });
  try {
    const { data, info } = await sharp(path)
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
    throw new PmgError('invalid-input', `cannot read image ${path}: ${message.split('\n')[0]}; give a PNG, JPEG or WebP file`, {
      cause: error,
      details: { path },
    });
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
  const png = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
  return texts.length === 0 ? png : withPngText(png, texts);
}

export function checkRgb(image: RgbImage): void {
  if (image.data.length !== image.width * image.height * 3) {
    throw new PmgError('invalid-argument', `RGB image of ${image.width}x${image.height} needs ${image.width * image.height * 3} bytes, got ${image.data.length}`);
  }
}
