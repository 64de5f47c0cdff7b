/**
 * The in-process backend of JobQueue: the handler runs here, one key at a time per key (a duplicate `run` of a
 * key shares the first one's promise and result), with the same bounded retries and backoff as the Redis backend.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  backoffDelay,
  DEFAULT_RETRY,
  failureReason,
  QueueJobFailed,
  type JobHandler,
  type JobQueue,
  type QueueRunOptions,
  type RetryPolicy,
} from './job-queue.js';

export class InProcessQueue<In, Out> implements JobQueue<In, Out> {
  readonly where = 'in-process';
  private readonly runs = new Map<string, Promise<Out>>();
  private readonly handler: JobHandler<In, Out>;
  private readonly retry: RetryPolicy;

  constructor(handler: JobHandler<In, Out>, retry: Partial<RetryPolicy> = {}) {
    this.handler = handler;
    this.retry = { ...DEFAULT_RETRY, ...retry };
  }

  run(key: string, data: In, options: QueueRunOptions = {}): Promise<Out> {
    let running = this.runs.get(key);
    if (!running) {
      running = this.attempt(key, data, options);
      this.runs.set(key, running);
      // A failed key may be run again later (a resumed run); a finished one keeps its result.
      running.catch(() => this.runs.delete(key));
    }
    return running;
  }

  private async attempt(key: string, data: In, options: QueueRunOptions): Promise<Out> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.handler(data, (progress) => options.onProgress?.(progress));
      } catch (error) {
        if (attempt >= this.retry.attempts) throw new QueueJobFailed(key, failureReason(error), attempt);
        await sleep(backoffDelay(this.retry, attempt));
      }
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.runs.values()]);
  }
}
