/**
 * One bounded download: the bytes at an http(s) URL, within a time limit (the whole answer) and a size limit (checked
 * against Content-Length and again while the body streams, so an oversized answer is never held in memory), and
 * optionally only when the answer's Content-Type matches. A failure is a FetchBytesError saying which bound or step
 * failed; each caller words it for its users (the captioner's image fetch, the server's history images).
 */

export type FetchProblem = 'timeout' | 'network' | 'status' | 'type' | 'too-large';

export class FetchBytesError extends Error {
  constructor(
    readonly problem: FetchProblem,
    message: string,
    readonly details: { status?: number; contentType?: string; bytes?: number; declared?: boolean } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FetchBytesError';
  }
}

export interface FetchBytesLimits {
  timeoutMs: number;
  maxBytes: number;
  /** Only answers whose Content-Type matches (e.g. /^image\//i). */
  contentType?: RegExp;
}

/** The body at `url`, or a FetchBytesError. `bytes` of a 'too-large' error is the declared length, or what had arrived when the limit was passed. */
export async function fetchBoundedBytes(url: string, limits: FetchBytesLimits): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  const failed = (error: unknown): FetchBytesError =>
    signal.aborted
      ? new FetchBytesError('timeout', `no answer within ${limits.timeoutMs} ms`, {}, { cause: error })
      : new FetchBytesError('network', (error as Error).message, {}, { cause: error });
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'follow' });
  } catch (error) {
    throw failed(error);
  }
  const refuse = async (error: FetchBytesError): Promise<never> => {
    await response.body?.cancel().catch(() => undefined);
    throw error;
  };
  if (!response.ok) return refuse(new FetchBytesError('status', `HTTP ${response.status}`, { status: response.status }));
  const type = response.headers.get('content-type') ?? '';
  if (limits.contentType && !limits.contentType.test(type)) return refuse(new FetchBytesError('type', `content type '${type}'`, { contentType: type }));
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limits.maxBytes)
    return refuse(new FetchBytesError('too-large', `${declared} bytes`, { bytes: declared, declared: true }));
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > limits.maxBytes) return refuse(new FetchBytesError('too-large', `at least ${size} bytes`, { bytes: size, declared: false }));
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof FetchBytesError) throw error;
    throw failed(error);
  }
  return Buffer.concat(chunks);
}
