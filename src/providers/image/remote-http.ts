/**
 * HTTP for the remote image generators (a1111-generator.ts, comfyui-generator.ts): one JSON or binary request over
 * node:http with two timeouts — connecting (short: a host that is down fails in seconds) and the whole answer
 * (long: a generation takes minutes on a slow GPU) — an abort signal, and bounded retries with backoff on 5xx, 429
 * and connection errors (refused, reset, dropped) only: a 4xx is the request's fault and a timed-out generation
 * would only run again, so neither is retried. Every failure ends as one PmgError line that names the server and
 * carries the server's own error text, e.g. `a1111 server http://127.0.0.1:7860: 422 Unprocessable Entity: steps: …`.
 */
import http from 'node:http';
import https from 'node:https';
import { PmgError } from '../../errors/pmg-error.js';
import { formatMs, HttpFailure, withRetries } from '../../runtime/hub-http.js';

export interface RemoteHttpOptions {
  /** Milliseconds to open the connection; default 10 000. */
  connectTimeoutMs?: number;
  /** Milliseconds for the whole answer of one request (a txt2img call waits for the images); default 600 000. */
  timeoutMs?: number;
  /** Extra attempts on 5xx, 429 and connection errors; default 2. */
  retries?: number;
  /** First backoff in ms, doubling each retry; default 500. */
  backoffMs?: number;
}

export interface RemoteAnswer {
  status: number;
  body: Buffer;
}

/** The server a generator talks to and how: its label in messages (`a1111 server http://…`), timeouts and retries. */
export class RemoteServer {
  readonly baseUrl: string;
  readonly connectMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;

  constructor(
    readonly kind: string,
    baseUrl: string,
    options: RemoteHttpOptions = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.connectMs = options.connectTimeoutMs ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 600_000;
    this.retries = options.retries ?? 2;
    this.backoffMs = options.backoffMs ?? 500;
  }

  /** `a1111 server http://host:port`, the start of every message about it. */
  get label(): string {
    return `${this.kind} server ${this.baseUrl}`;
  }

  /** POST (a JSON body) or GET `path`, retried as the header says; a non-2xx answer is a one-line PmgError with the server's text. */
  async call(path: string, options: { json?: unknown; signal?: AbortSignal; retries?: number } = {}): Promise<Buffer> {
    const url = `${this.baseUrl}${path}`;
    try {
      return await withRetries({ retries: options.retries ?? this.retries, timeoutRetries: 0, retryDelayMs: this.backoffMs }, async () => {
        if (options.signal?.aborted) throw abortedError(this.label);
        const answer = await this.once(url, options.json, options.signal);
        if (answer.status >= 200 && answer.status < 300) return answer.body;
        throw new HttpFailure('status', `${answer.status} ${http.STATUS_CODES[answer.status] ?? ''}${serverDetail(answer.body)}`.trim(), url, answer.status);
      });
    } catch (error) {
      throw this.failure(error, path);
    }
  }

  /** A JSON answer, or a one-line 'invalid-response' naming the path. */
  async json<T>(path: string, options: { json?: unknown; signal?: AbortSignal; retries?: number } = {}): Promise<T> {
    const body = await this.call(path, options);
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch {
      throw new PmgError('invalid-response', `${this.label}: ${path} answered with something that is not JSON: ${oneLine(body.toString('utf8'), 120)}`, {
        details: { url: `${this.baseUrl}${path}` },
      });
    }
  }

  private once(url: string, json: unknown, signal: AbortSignal | undefined): Promise<RemoteAnswer> {
    const target = new URL(url);
    const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        cleanup();
        request.destroy();
        reject(error);
      };
      const request = (target.protocol === 'https:' ? https : http).request(target, {
        method: body ? 'POST' : 'GET',
        agent: false,
        headers: body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {},
      });
      const connectTimer = setTimeout(
        () =>
          fail(new HttpFailure('timeout', `could not connect within ${formatMs(this.connectMs)}`, url, undefined, undefined, undefined, { stage: 'connect' })),
        this.connectMs,
      );
      const overallTimer = setTimeout(
        () =>
          fail(
            new HttpFailure('timeout', `no complete answer within ${formatMs(this.timeoutMs)}`, url, undefined, undefined, undefined, { stage: 'response' }),
          ),
        this.timeoutMs,
      );
      const onAbort = (): void => fail(abortedError(this.label));
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = (): void => {
        clearTimeout(connectTimer);
        clearTimeout(overallTimer);
        signal?.removeEventListener('abort', onAbort);
      };
      request.on('socket', (socket) => {
        if (!socket.connecting) clearTimeout(connectTimer);
        else socket.once('connect', () => clearTimeout(connectTimer));
      });
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        // A reset while the body streams ('error' with ECONNRESET 'aborted', or a close before the end).
        const dropped = (): void => fail(connectionFailure(url, new Error('the server dropped the connection mid-answer')));
        response.on('error', dropped);
        response.on('close', () => {
          if (!response.complete) dropped();
        });
        response.on('end', () => {
          if (settled) return;
          settled = true;
          cleanup();
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) });
        });
      });
      request.on('error', (error) => fail(error instanceof HttpFailure || error instanceof PmgError ? error : connectionFailure(url, error)));
      request.end(body);
    });
  }

  private failure(error: unknown, path: string): unknown {
    if (error instanceof PmgError) return error;
    if (!(error instanceof HttpFailure)) return error;
    const attempts = (error as HttpFailure & { attempts?: number }).attempts ?? 1;
    const tries = attempts > 1 ? ` (after ${attempts} attempts)` : '';
    const details = { url: `${this.baseUrl}${path}`, ...(error.status !== undefined ? { status: error.status } : {}), attempts };
    if (error.kind === 'timeout')
      return new PmgError('timeout', `${this.label}: ${path}: ${error.message}; check the server or raise the timeout`, { details, cause: error });
    if (error.kind === 'connection')
      return new PmgError('provider-call-failed', `${this.label}: ${path}: ${error.message}${tries}; is the server running?`, { details, cause: error });
    const hint = error.status !== undefined && error.status < 500 ? '; fix the request' : '; check the server log';
    return new PmgError('provider-call-failed', `${this.label}: ${error.message}${tries}${hint}`, { details, cause: error });
  }
}

function connectionFailure(url: string, error: Error): HttpFailure {
  const code = (error as NodeJS.ErrnoException).code;
  const text = code && !error.message.includes(code) ? `${code} ${error.message}` : error.message;
  return new HttpFailure('connection', `connection failed: ${text}`, url, undefined, undefined, undefined, { cause: error, stage: 'connect' });
}

export function abortedError(label: string): PmgError {
  return new PmgError('aborted', `the generation on the ${label} was aborted`);
}

/** The server's own error text from a JSON body (FastAPI's `detail`, A1111's `error`/`errors`, ComfyUI's `error.message`), else the text itself. */
export function serverDetail(body: Buffer): string {
  const text = body.toString('utf8').trim();
  if (!text) return '';
  let detail: string = text;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const given = (value: unknown): boolean => value !== undefined && value !== null && value !== '';
    // A1111's exception answer: { error: '<type>', detail: '', body: '', errors: '<text>' }.
    if (typeof parsed.error === 'string' && typeof parsed.errors === 'string' && parsed.errors) detail = `${parsed.error}: ${parsed.errors}`;
    else detail = describeDetail([parsed.detail, parsed.errors, parsed.error, parsed.message].find(given) ?? parsed) ?? text;
    // ComfyUI's validation answer adds { node_errors: { <node>: { class_type, errors: [{ message, details }] } } }.
    const nodeError = Object.entries((parsed.node_errors ?? {}) as Record<string, { class_type?: string; errors?: unknown }>)[0];
    if (nodeError) detail += `; node ${nodeError[0]} (${nodeError[1].class_type ?? '?'}): ${describeDetail(nodeError[1].errors) ?? ''}`;
  } catch {
    // plain text
  }
  return `: ${oneLine(detail, 300)}`;
}

function describeDetail(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value))
    return value
      .map((v) => {
        if (v && typeof v === 'object' && 'msg' in v) {
          const loc = Array.isArray((v as { loc?: unknown }).loc) ? (v as { loc: unknown[] }).loc.filter((p) => p !== 'body').join('.') : '';
          return `${loc ? `${loc}: ` : ''}${String((v as { msg: unknown }).msg)}`;
        }
        return describeDetail(v) ?? JSON.stringify(v);
      })
      .join('; ');
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const message = typeof o.message === 'string' ? o.message : undefined;
    const extra = typeof o.details === 'string' && o.details ? `: ${o.details}` : '';
    return message ? `${message}${extra}` : JSON.stringify(value);
  }
  return undefined;
}

/** One line of at most `max` characters. */
export function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
