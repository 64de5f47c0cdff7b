/**
 * Items may name their image by an http(s) URL; the captioner reads files, so the image is fetched into a
 * temporary file first (bounded in time and size) and removed after use.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PmgError } from '../../errors/pmg-error.js';
import { fetchBoundedBytes, FetchBytesError } from '../../runtime/fetch-bytes.js';

export interface FetchImageOptions {
  /** Never touch the network (an http(s) image is then an `offline` error). */
  offline?: boolean;
  timeoutMs?: number;
  maxBytes?: number;
}

export const IMAGE_FETCH_DEFAULTS = { timeoutMs: 30_000, maxBytes: 20 * 1024 * 1024 } as const;

export function isImageUrl(image: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(image);
}

/** Run `use` on a local copy of the image at `url`; the copy is removed afterwards. */
export async function withFetchedImage<T>(url: string, options: FetchImageOptions, use: (path: string) => Promise<T>): Promise<T> {
  if (!/^https?:\/\//i.test(url)) {
    throw new PmgError('unsupported', `the image ${url} uses a scheme pmg cannot fetch; give an http(s) URL or a local path`, { details: { image: url } });
  }
  if (options.offline) {
    throw new PmgError('offline', `the image ${url} is on the network but offline mode is on; download it and give its path`, { details: { image: url } });
  }
  const timeoutMs = options.timeoutMs ?? IMAGE_FETCH_DEFAULTS.timeoutMs;
  const maxBytes = options.maxBytes ?? IMAGE_FETCH_DEFAULTS.maxBytes;
  let bytes: Uint8Array;
  try {
    bytes = await fetchBoundedBytes(url, { timeoutMs, maxBytes });
  } catch (error) {
    if (!(error instanceof FetchBytesError)) throw error;
    const details = { image: url, ...(error.details.status !== undefined ? { status: error.details.status } : {}) };
    if (error.problem === 'timeout') throw new PmgError('timeout', `the image ${url} did not arrive within ${timeoutMs} ms`, { cause: error, details });
    if (error.problem === 'too-large')
      throw new PmgError('invalid-input', `the image ${url} is ${error.message}, over the limit of ${maxBytes}`, { cause: error, details });
    if (error.problem === 'status') throw new PmgError('download-failed', `cannot fetch the image ${url}: ${error.message}`, { cause: error, details });
    throw new PmgError('download-failed', `cannot fetch the image ${url} (${error.message})`, { cause: error, details });
  }
  const dir = await mkdtemp(join(tmpdir(), 'pmg-image-'));
  try {
    const path = join(dir, 'image');
    await writeFile(path, bytes);
    return await use(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
