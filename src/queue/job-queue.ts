/**
 * One job-queue interface with two backends (issue 14): in-process (the handler runs in this process, the default)
 * and BullMQ on Redis (bullmq-queue.ts; workers anywhere run the handler). Delivery is at-least-once, so every job
 * carries an idempotency key: enqueueing a key again, or a second completion of it, changes nothing — the caller
 * gets the first result. A job whose handler keeps failing is retried `attempts` times with exponential backoff,
 * then ends as a `QueueJobFailed` carrying the last reason.
 */
import { PmgError } from '../errors/pmg-error.js';

/** What a handler reports while it runs (the generation's denoising steps). */
export interface QueueProgress {
  stage: string;
  step?: number;
  total?: number;
  /** Relayed units only (`pmg serve --queue`): the keywords once the worker has them. */
  keywords?: { preference: string[]; target: string[]; cached: boolean };
  /** Relayed units only: the x0 previews of step `step`, small PNGs as base64, one per running candidate. */
  previews?: { candidate: number; png: string }[];
}

export interface QueueRunOptions {
  onProgress?: (progress: QueueProgress) => void;
  /**
   * Stop waiting: run() rejects with the signal's reason. A job still waiting in the queue is removed first (it never
   * runs), unless `keepOnAbort(reason)` says to leave it (a shutting-down service re-attaches to it on restart); a
   * running one is left to finish on its worker and its result is ignored.
   */
  signal?: AbortSignal;
  keepOnAbort?: (reason: unknown) => boolean;
}

/** The producer side: run a job somewhere and wait for its result. */
export interface JobQueue<In, Out> {
  /** 'in-process' or the Redis URL without its password. */
  readonly where: string;
  /** Enqueue `data` under `key` (an idempotent no-op when the key is already queued or done) and wait for its result. */
  run(key: string, data: In, options?: QueueRunOptions): Promise<Out>;
  close(): Promise<void>;
}

export type JobHandler<In, Out> = (data: In, report: (progress: QueueProgress) => void) => Promise<Out>;

export interface RetryPolicy {
  /** Tries in all (default 3). */
  attempts: number;
  /** Backoff before try n+1: backoffMs · 2^(n−1) (default 1000). */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 1000 };

/** A job that failed on every attempt: `reason` is the last failure's one-line message. */
export class QueueJobFailed extends PmgError {
  readonly key: string;
  readonly reason: string;
  readonly attempts: number;
  constructor(key: string, reason: string, attempts: number) {
    super('provider-call-failed', `job ${key} failed after ${attempts} attempt(s): ${reason}`, { details: { key, reason, attempts } });
    this.key = key;
    this.reason = reason;
    this.attempts = attempts;
  }
}

/** The first line of an error's message (what a failed job records). */
export function failureReason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.slice(0, 500);
}

/** Milliseconds to wait after failed try `attempt` (1-based). */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return policy.backoffMs * 2 ** (attempt - 1);
}
