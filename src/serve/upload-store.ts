/**
 * Images that arrive with requests (POST /v1/uploads, data: URLs and allowed remote URLs in histories) are stored
 * as `<dataDir>/uploads/<sha256>.<ext>`, atomically, and jobs name them by that path. The kind comes from the bytes'
 * signature, not from what the client claims, so only PNG, JPEG and WebP files are ever written.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.js';
import { PmgError } from '../errors/pmg-error.js';

/** Uploads and fetched images: at most 8 MiB each. */
export const MAX_IMAGE_BYTES = 8 * 1024 * 1024;

export const imageTypes = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' } as const;
export type ImageType = keyof typeof imageTypes;

/** The image type of the bytes by their signature, or undefined. */
export function sniffImageType(bytes: Uint8Array): ImageType | undefined {
  const starts = (...sig: number[]): boolean => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (starts(0x52, 0x49, 0x46, 0x46) && Buffer.from(bytes.subarray(8, 12)).toString('latin1') === 'WEBP') return 'image/webp';
  return undefined;
}

/** `<dataDir>/uploads`. */
export function uploadsFolder(dataDir: string): string {
  return join(dataDir, 'uploads');
}

/**
 * Stores the bytes under `uploadsDir` by their sha256 and returns the absolute path. `field` names where they came
 * from in the error when they are not a PNG, JPEG or WebP image or are too large.
 */
export async function storeImage(uploadsDir: string, bytes: Uint8Array, field: string): Promise<string> {
  if (bytes.length > MAX_IMAGE_BYTES)
    throw new PmgError('invalid-input', `${field}: the image is ${bytes.length} bytes, over the limit of ${MAX_IMAGE_BYTES}`, { details: { field } });
  const type = sniffImageType(bytes);
  if (!type) throw new PmgError('invalid-input', `${field}: the bytes are not a PNG, JPEG or WebP image`, { details: { field } });
  const path = join(uploadsDir, `${createHash('sha256').update(bytes).digest('hex')}.${imageTypes[type]}`);
  if (!existsSync(path)) await writeFileAtomic(path, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return path;
}
