/**
 * The HTTP side of the model store: one request with manual redirects (the token is sent only to
 * the endpoint's own origin, never to the LFS/xet host a `resolve` URL redirects to), three timeouts —
 * connecting, waiting for the answer's first byte (both short: a hub that never answers fails in
 * seconds) and, once the body streams, an idle timeout (longer: a slow download is not a dead one) —
 * and bounded retries with backoff for connection errors, timeouts, 429 and 5xx. Failures are
 * `HttpFailure`s; the store turns them into PmgErrors that name the repo and file.
 */
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatBytes } from '../core/progress.js';

export interface HttpClientOptions {
  /** Base URL of the hub or mirror; the token goes only to this origin. */
  endpoint: string;
  token?: string;
  /** Milliseconds without any byte from the server while a body streams before the request fails. */
  timeoutMs: number;
  /** Milliseconds to open the connection (TCP, and TLS for https); default 15000. */
  connectTimeoutMs?: number;
  /** Milliseconds from the open connection to the answer's status line and headers; default 15000. */
  responseTimeoutMs?: number;
  userAgent: string;
  maxRedirects?: number;
}

export interface HttpHop {
  url: string;
  status: number;
  headers: http.IncomingHttpHeaders;
}

export interface HttpResponse {
  status: number;
  /** URL of the last hop. */
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Every response on the way, redirects first (hub headers such as X-Linked-Size sit on the first). */
  hops: HttpHop[];
  body: http.IncomingMessage;
  /** True once the idle timeout fired (a body error after that is a timeout, not a reset). */
  timedOut(): boolean;
}

export type HttpFailureKind = 'status' | 'connection' | 'timeout';

/** Where a request failed: opening the connection, waiting for the answer, or reading its body. */
export type HttpStage = 'connect' | 'response' | 'body';

/** Default connect and first-byte timeouts of hub requests. */
export const DEFAULT_HUB_WAIT_MS = 15_000;

export class HttpFailure extends Error {
  constructor(
    readonly kind: HttpFailureKind,
    message: string,
    readonly url: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
    /** The hub's `X-Error-Code` (RepoNotFound, EntryNotFound, GatedRepo, ...), when it sent one. */
    readonly hubErrorCode?: string,
    options?: { cause?: unknown; stage?: HttpStage },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpFailure';
    this.stage = options?.stage;
  }

  /** Set for connection failures and timeouts. */
  readonly stage: HttpStage | undefined;

  /** A connect or first-byte timeout (not a stalled body). */
  get waitedInVain(): boolean {
    return this.kind === 'timeout' && this.stage !== 'body';
  }

  get retryable(): boolean {
    if (this.kind !== 'status') return true;
    return this.status === 429 || (this.status !== undefined && this.status >= 500);
  }
}

export class HubHttpClient {
  private readonly endpointOrigin: string;

  constructor(readonly options: HttpClientOptions) {
    this.endpointOrigin = new URL(options.endpoint).origin;
  }

  /**
   * GET or HEAD `url`, following redirects. Resolves with the final response whatever its status
   * (call `ensureOk` to turn a non-2xx into an HttpFailure); rejects on connection errors and
   * timeouts before the headers arrive.
   */
  async request(method: 'GET' | 'HEAD', url: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
    const hops: HttpHop[] = [];
    let current = url;
    const maxRedirects = this.options.maxRedirects ?? 10;
    for (let hop = 0; ; hop++) {
      const { response, timedOut } = await this.once(method, current, headers);
      const status = response.statusCode ?? 0;
      hops.push({ url: current, status, headers: response.headers });
      const location = response.headers.location;
      if ([301, 302, 303, 307, 308].includes(status) && location) {
        response.resume();
        if (hop >= maxRedirects) throw new HttpFailure('status', `too many redirects from ${url}`, current, status);
        current = new URL(location, current).href;
        continue;
      }
      return { status, url: current, headers: response.headers, hops, body: response, timedOut };
    }
  }

  private once(method: string, url: string, extra: Record<string, string>): Promise<{ response: http.IncomingMessage; timedOut: () => boolean }> {
    const target = new URL(url);
    const headers: Record<string, string> = { 'User-Agent': this.options.userAgent, ...extra };
    if (this.options.token && target.origin === this.endpointOrigin) headers.Authorization = `Bearer ${this.options.token}`;
    const transport = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined;
    if (!transport) return Promise.reject(new HttpFailure('status', `unsupported URL scheme in ${url}`, url));
    const connectMs = this.options.connectTimeoutMs ?? DEFAULT_HUB_WAIT_MS;
    const responseMs = this.options.responseTimeoutMs ?? DEFAULT_HUB_WAIT_MS;
    return new Promise((resolve, reject) => {
      let timedOut = false;
      let waiting: NodeJS.Timeout | undefined;
      const giveUp = (stage: HttpStage, message: string): void => {
        timedOut = true;
        request.destroy(new HttpFailure('timeout', message, url, undefined, undefined, undefined, { stage }));
      };
      const request = transport.request(target, { method, headers, agent: false }, (response) => {
        clearTimeout(waiting);
        // From here on only silence in the body counts, for as long as timeoutMs.
        request.setTimeout(this.options.timeoutMs, () => giveUp('body', `no data for ${formatMs(this.options.timeoutMs)} from ${target.host}`));
        resolve({ response, timedOut: () => timedOut });
      });
      waiting = setTimeout(() => giveUp('connect', `could not connect to ${target.host} within ${formatMs(connectMs)}`), connectMs);
      request.on('socket', (socket) => {
        const connected = (): void => {
          clearTimeout(waiting);
          waiting = setTimeout(
            () => giveUp('response', `${target.host} accepted the connection but sent no answer within ${formatMs(responseMs)}`),
            responseMs,
          );
        };
        if (!socket.connecting) connected();
        else socket.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', connected);
      });
      request.on('close', () => clearTimeout(waiting));
      request.on('error', (error) => {
        clearTimeout(waiting);
        if (error instanceof HttpFailure) reject(error);
        else
          reject(
            new HttpFailure('connection', `connection to ${target.host} failed: ${describeError(error)}`, url, undefined, undefined, undefined, {
              cause: error,
              stage: 'connect',
            }),
          );
      });
      request.end();
    });
  }
}

/** Throws an HttpFailure for a non-2xx response (after reading a short error text from it). */
export async function ensureOk(response: HttpResponse): Promise<void> {
  if (response.status >= 200 && response.status < 300) return;
  let text = '';
  try {
    text = (await readBody(response, 64 * 1024)).toString('utf8');
  } catch {
    // the status is what matters
  }
  const hubMessage = headerValue(response.headers, 'x-error-message') ?? errorFromJson(text);
  const retryAfter = headerValue(response.headers, 'retry-after');
  const retryAfterMs = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : undefined;
  throw new HttpFailure(
    'status',
    `HTTP ${response.status}${http.STATUS_CODES[response.status] ? ` ${http.STATUS_CODES[response.status]}` : ''}${hubMessage ? ` (${hubMessage})` : ''}`,
    response.url,
    response.status,
    retryAfterMs,
    headerValue(response.headers, 'x-error-code'),
  );
}

/** Reads a whole (small) body, classifying a broken stream as connection error or timeout. */
export async function readBody(response: HttpResponse, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const length = headerValue(response.headers, 'content-length');
  const expected = length && /^\d+$/.test(length) ? Number(length) : undefined;
  try {
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new HttpFailure('status', `response from ${response.url} is larger than ${limit} bytes`, response.url);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    throw bodyFailure(response, error, size, expected);
  }
  if (!response.body.complete) throw bodyFailure(response, undefined, size, expected);
  return Buffer.concat(chunks);
}

/**
 * Turns an error while reading a body (or its early end, `error` undefined) into an HttpFailure that says
 * what happened: the idle timeout, or the connection closing after `received` of `expected` bytes
 * (retryable; a download resumes from there).
 */
export function bodyFailure(response: HttpResponse, error: unknown, received: number, expected?: number): HttpFailure {
  if (error instanceof HttpFailure) return error;
  const host = new URL(response.url).host;
  if (response.timedOut())
    return new HttpFailure('timeout', `no data from ${host} while reading the response`, response.url, undefined, undefined, undefined, {
      cause: error,
      stage: 'body',
    });
  const of = expected !== undefined ? ` of ${formatBytes(expected)}` : '';
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = code ? ` (${code})` : '';
  return new HttpFailure(
    'connection',
    `the connection to ${host} closed after ${formatBytes(received)}${of}${reason}`,
    response.url,
    undefined,
    undefined,
    undefined,
    {
      cause: error,
      stage: 'body',
    },
  );
}

export interface RetryPolicy {
  /** Extra attempts after the first. */
  retries: number;
  /**
   * Extra attempts after a connect or first-byte timeout (default: `retries`). Kept small, so a hub that
   * never answers costs one or two waits, not one per retry.
   */
  timeoutRetries?: number;
  /** First backoff delay; doubles each time (a server's Retry-After wins, up to 60 s). */
  retryDelayMs: number;
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or `retries` extra tries
 * are used up. The rejection carries the attempt count in `attempts`.
 */
export async function withRetries<T>(policy: RetryPolicy, attempt: (index: number) => Promise<T>): Promise<T> {
  let waits = 0;
  for (let index = 0; ; index++) {
    try {
      return await attempt(index);
    } catch (error) {
      const retryable = error instanceof HttpFailure && error.retryable;
      const waitedInVain = error instanceof HttpFailure && error.waitedInVain;
      if (waitedInVain) waits++;
      if (!retryable || index >= policy.retries || (waitedInVain && waits > (policy.timeoutRetries ?? policy.retries))) {
        if (error instanceof HttpFailure) Object.assign(error, { attempts: index + 1 });
        throw error;
      }
      const backoff = policy.retryDelayMs * 2 ** index;
      const wait = error.retryAfterMs !== undefined ? Math.min(60_000, Math.max(backoff, error.retryAfterMs)) : backoff;
      await sleep(wait);
    }
  }
}

export function attemptsOf(error: HttpFailure): number {
  return (error as HttpFailure & { attempts?: number }).attempts ?? 1;
}

export function headerValue(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function errorFromJson(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error.split('\n')[0] : undefined;
  } catch {
    return undefined;
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code} ${error.message}` : error.message;
  }
  return String(error);
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s` : `${ms}ms`;
}
