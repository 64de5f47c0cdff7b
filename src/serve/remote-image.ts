/**
 * Fetching an image a history names by URL (only with `--allow-remote-images`): http(s) only, at most 8 MiB,
 * at most 10 s in all, and the answer must say it is an image. A failure is an invalid-input error on the field.
 */
import { PmgError } from '../errors/pmg-error.js';
import { MAX_IMAGE_BYTES } from './upload-store.js';

export interface RemoteImageLimits {
  maxBytes: number;
  timeoutMs: number;
}

export const defaultRemoteImageLimits: RemoteImageLimits = { maxBytes: MAX_IMAGE_BYTES, timeoutMs: 10_000 };

/** The bytes at `url`, or an invalid-input PmgError naming `field` and why. */
export async function fetchRemoteImage(url: string, field: string, limits: RemoteImageLimits = defaultRemoteImageLimits): Promise<Uint8Array> {
  const fail = (why: string): PmgError => new PmgError('invalid-input', `${field}: could not use the image at ${url}: ${why}`, { details: { field, url } });
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'follow' });
  } catch (error) {
    throw fail(signal.aborted ? `no answer within ${limits.timeoutMs / 1000} s` : (error as Error).message);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw fail(`the server answered ${response.status}`);
  }
  const type = response.headers.get('content-type') ?? '';
  if (!/^image\//i.test(type)) {
    await response.body?.cancel();
    throw fail(`its content type is '${type || 'none'}', not an image`);
  }
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limits.maxBytes) {
    await response.body?.cancel();
    throw fail(`it is ${declared} bytes, over the limit of ${limits.maxBytes}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > limits.maxBytes) {
        await response.body?.cancel().catch(() => undefined);
        throw fail(`it is over the limit of ${limits.maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof PmgError) throw error;
    throw fail(signal.aborted ? `no answer within ${limits.timeoutMs / 1000} s` : (error as Error).message);
  }
  return Buffer.concat(chunks);
}
