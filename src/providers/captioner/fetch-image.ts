/**
 * Items may name their image by an http(s) URL; the captioner reads files, so the image is fetched into a
 * temporary file first (bounded in time and size) and removed after use.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PmgError } from '../../errors/pmg-error.js';

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
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    throw new PmgError(
      timedOut ? 'timeout' : 'download-failed',
      timedOut ? `the image ${url} did not arrive within ${timeoutMs} ms` : `cannot fetch the image ${url} (${(error as Error).message})`,
      {
        cause: error,
        details: { image: url },
      },
    );
  }
  if (!response.ok)
    throw new PmgError('download-failed', `cannot fetch the image ${url}: HTTP ${response.status}`, { details: { image: url, status: response.status } });
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes)
    throw new PmgError('invalid-input', `the image ${url} is ${declared} bytes, over the limit of ${maxBytes}`, { details: { image: url } });
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length > maxBytes)
    throw new PmgError('invalid-input', `the image ${url} is ${bytes.length} bytes, over the limit of ${maxBytes}`, { details: { image: url } });
  const dir = await mkdtemp(join(tmpdir(), 'pmg-image-'));
  try {
    const path = join(dir, 'image');
    await writeFile(path, bytes);
    return await use(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
