/**
 * Fetching an image a history names by URL (only with `--allow-remote-images`): http(s) only, at most 8 MiB,
 * at most 10 s in all, and the answer must say it is an image. A failure is an invalid-input error on the field.
 */
import { PmgError } from '../errors/pmg-error.js';
import { fetchBoundedBytes, FetchBytesError } from '../runtime/fetch-bytes.js';
import { MAX_IMAGE_BYTES } from './upload-store.js';

export interface RemoteImageLimits {
  maxBytes: number;
  timeoutMs: number;
}

export const defaultRemoteImageLimits: RemoteImageLimits = { maxBytes: MAX_IMAGE_BYTES, timeoutMs: 10_000 };

/** The bytes at `url`, or an invalid-input PmgError naming `field` and why. */
export async function fetchRemoteImage(url: string, field: string, limits: RemoteImageLimits = defaultRemoteImageLimits): Promise<Uint8Array> {
  const fail = (why: string): PmgError => new PmgError('invalid-input', `${field}: could not use the image at ${url}: ${why}`, { details: { field, url } });
  try {
    return await fetchBoundedBytes(url, { ...limits, contentType: /^image\//i });
  } catch (error) {
    if (!(error instanceof FetchBytesError)) throw error;
    const { bytes, contentType, declared, status } = error.details;
    if (error.problem === 'timeout') throw fail(`no answer within ${limits.timeoutMs / 1000} s`);
    if (error.problem === 'status') throw fail(`the server answered ${status}`);
    if (error.problem === 'type') throw fail(`its content type is '${contentType || 'none'}', not an image`);
    if (error.problem === 'too-large')
      throw fail(declared ? `it is ${bytes} bytes, over the limit of ${limits.maxBytes}` : `it is over the limit of ${limits.maxBytes} bytes`);
    throw fail(error.message);
  }
}
