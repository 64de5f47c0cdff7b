/**
 * Load on a running `pmg serve`: `clients` concurrent clients, each submitting a job, following its events to the
 * end, and submitting the next, until `durationMs` has passed; a 429 waits its Retry-After (capped) and tries again.
 * Counts every status, every accepted job's ending, and the latency of the submit calls.
 */
import { readEvents } from '../serve/sse-client.js';

export interface ServeLoadOptions {
  url: string;
  clients: number;
  durationMs: number;
  job: unknown;
  /** Longest wait after a 429 (default 250 ms; the server's Retry-After is in whole seconds). */
  maxRetryWaitMs?: number;
  headers?: Record<string, string>;
}

export interface ServeLoadResult {
  /** Responses to POST /v1/generations by status. */
  statuses: Record<string, number>;
  accepted: number;
  /** Accepted jobs by the type of their last event ('done', 'error', 'cancelled', or 'none' when the stream broke). */
  endings: Record<string, number>;
  /** Retry-After values seen on 429s. */
  retryAfter: number[];
  /** ms of each POST /v1/generations. */
  submitMs: number[];
  wallMs: number;
}

export async function runServeLoad(options: ServeLoadOptions): Promise<ServeLoadResult> {
  const result: ServeLoadResult = { statuses: {}, accepted: 0, endings: {}, retryAfter: [], submitMs: [], wallMs: 0 };
  const started = performance.now();
  const deadline = started + options.durationMs;
  const count = (record: Record<string, number>, key: string): void => void (record[key] = (record[key] ?? 0) + 1);
  const body = JSON.stringify(options.job);
  const client = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const response = await fetch(`${options.url}/v1/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...options.headers },
        body,
      });
      result.submitMs.push(performance.now() - t0);
      count(result.statuses, String(response.status));
      if (response.status === 202) {
        result.accepted++;
        const { id } = (await response.json()) as { id: string };
        const events = await fetch(`${options.url}/v1/generations/${id}/events`, { headers: { ...options.headers } });
        const last = (await readEvents(events)).events.at(-1);
        count(result.endings, last?.type ?? 'none');
      } else {
        await response.body?.cancel();
        const seconds = Number(response.headers.get('retry-after'));
        if (response.status === 429 && Number.isFinite(seconds)) result.retryAfter.push(seconds);
        await new Promise((done) => setTimeout(done, Math.min((seconds || 1) * 1000, options.maxRetryWaitMs ?? 250)));
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  result.wallMs = performance.now() - started;
  return result;
}
