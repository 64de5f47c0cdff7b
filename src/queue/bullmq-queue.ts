/**
 * The BullMQ backend of JobQueue (issue 14): jobs live in Redis, `pmg worker` processes on any host run them.
 * - The job id is the caller's idempotency key: adding a key that is queued, running or done is a no-op and the
 *   caller gets the first completion's result (completed jobs keep their return value for `resultTtlSeconds`).
 * - Failed tries are retried by BullMQ (`attempts`, exponential backoff); a key that failed on every try is run
 *   again (its tries reset) when a later run enqueues it, e.g. a resumed eval.
 * - A worker that dies mid-job loses its lock; BullMQ's stalled-job check (in every worker) puts the job back.
 * - Progress goes through `job.updateProgress` and reaches the producer as QueueEvents 'progress'.
 */
import { Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { PmgError } from '../errors/pmg-error.js';
import {
  DEFAULT_RETRY,
  failureReason,
  QueueJobFailed,
  type JobHandler,
  type JobQueue,
  type QueueProgress,
  type QueueRunOptions,
  type RetryPolicy,
} from './job-queue.js';
import { describeQueue, type RedisQueueTarget } from './queue-url.js';

/** The queue pmg's generation units travel on (`pmg eval --queue`, `pmg worker`). */
export const GENERATION_QUEUE = 'pmg-generation';
const CONNECT_TIMEOUT_MS = 5000;

export interface BullQueueOptions {
  retry?: Partial<RetryPolicy>;
  /** How long a completed job's result stays in Redis (default one day). */
  resultTtlSeconds?: number;
}

function connectionOf(target: RedisQueueTarget) {
  return {
    host: target.host,
    port: target.port,
    db: target.db,
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    maxRetriesPerRequest: null,
  };
}

/** One PING with no reconnects: an unreachable or refusing Redis fails now, in one line naming the queue. */
export async function checkRedis(target: RedisQueueTarget): Promise<void> {
  const client = new Redis({
    ...connectionOf(target),
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  let cause: unknown;
  client.on('error', (error) => (cause ??= error));
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new PmgError(
      'provider-call-failed',
      `--queue ${describeQueue(target)}: cannot reach Redis (${failureReason(cause ?? error)}); start redis-server there or fix the URL`,
      {
        details: { field: '--queue' },
      },
    );
  } finally {
    client.disconnect();
  }
}

export class BullJobQueue<In, Out> implements JobQueue<In, Out> {
  readonly where: string;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly retry: RetryPolicy;
  private readonly ttl: number;
  private readonly listeners = new Map<string, Set<(progress: QueueProgress) => void>>();

  private constructor(target: RedisQueueTarget, queue: Queue, events: QueueEvents, options: BullQueueOptions) {
    this.where = describeQueue(target);
    this.queue = queue;
    this.events = events;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.ttl = options.resultTtlSeconds ?? 24 * 3600;
    events.on('progress', ({ jobId, data }) => {
      for (const listener of this.listeners.get(jobId) ?? []) listener(data as unknown as QueueProgress);
    });
  }

  static async open<In, Out>(target: RedisQueueTarget, name = GENERATION_QUEUE, options: BullQueueOptions = {}): Promise<BullJobQueue<In, Out>> {
    await checkRedis(target);
    const queue = new Queue(name, { connection: connectionOf(target) });
    const events = new QueueEvents(name, { connection: connectionOf(target) });
    // Redis going away later is waited out (ioredis reconnects); the errors it logs meanwhile are not fatal.
    queue.on('error', () => undefined);
    events.on('error', () => undefined);
    // Every job waited for adds a 'closing' listener to the queue (BullMQ's waitUntilFinished): as many as jobs in flight.
    queue.setMaxListeners(0);
    events.setMaxListeners(0);
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return new BullJobQueue<In, Out>(target, queue, events, options);
  }

  async run(key: string, data: In, options: QueueRunOptions = {}): Promise<Out> {
    const listener = options.onProgress;
    if (listener) {
      const set = this.listeners.get(key) ?? new Set();
      set.add(listener);
      this.listeners.set(key, set);
    }
    try {
      // A key that failed on every try in an earlier run is tried again; one that fails now is not (its state is read before the add).
      const earlier = await Job.fromId(this.queue, key);
      const failedBefore = earlier !== undefined && (await earlier.getState()) === 'failed';
      const job = await this.queue.add('unit', data, {
        jobId: key,
        attempts: this.retry.attempts,
        backoff: { type: 'exponential', delay: this.retry.backoffMs },
        removeOnComplete: { age: this.ttl },
        removeOnFail: { age: this.ttl },
      });
      if (failedBefore) await job.retry('failed', { resetAttemptsMade: true });
      try {
        const finished = job.waitUntilFinished(this.events) as Promise<Out>;
        return await (options.signal ? untilAborted(finished, options.signal, () => this.withdraw(key, options)) : finished);
      } catch (error) {
        if (options.signal?.aborted) throw error;
        const failed = await Job.fromId(this.queue, key);
        throw new QueueJobFailed(key, failureReason(failed?.failedReason || error), failed?.attemptsMade ?? this.retry.attempts);
      }
    } finally {
      if (listener) this.listeners.get(key)?.delete(listener);
    }
  }

  /** Workers connected to this queue now (BullMQ's CLIENT LIST of the queue's worker connections). */
  workerCount(): Promise<number> {
    return this.queue.getWorkersCount();
  }

  /** An aborted run: remove the job while it still waits (so it never runs) unless the caller keeps it. */
  private async withdraw(key: string, options: QueueRunOptions): Promise<void> {
    if (options.keepOnAbort?.(options.signal?.reason)) return;
    const job = await Job.fromId(this.queue, key);
    const state = await job?.getState();
    if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized')) await job.remove().catch(() => undefined); // taken meanwhile: it runs, its result is ignored
  }

  /** Counts by state (waiting, active, completed, failed, delayed), for logs and `pmg bench queue`. */
  counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
  }
}

export interface QueueWorkerOptions {
  concurrency?: number;
  /** A job's lock; a worker silent this long is presumed dead and its job goes back (default 30 000 ms). */
  lockDurationMs?: number;
  /** How often workers look for stalled jobs (default: lockDurationMs). */
  stalledIntervalMs?: number;
  /** Stalls a job may survive before it fails (default 2). */
  maxStalledCount?: number;
  onError?: (error: Error) => void;
  /** Failures no retry can mend (e.g. a unit for other models): the job fails at once, its tries left unused. */
  unrecoverable?: (error: unknown) => boolean;
  /** A job started / ended (logs). */
  onJob?: (event: { key: string; state: 'started' | 'done' | 'failed'; reason?: string; attempt: number }) => void;
}

/** Run `handler` for the jobs of queue `name` until close() (which lets the running jobs finish). */
export async function startQueueWorker<In, Out>(
  target: RedisQueueTarget,
  handler: JobHandler<In, Out>,
  options: QueueWorkerOptions = {},
  name = GENERATION_QUEUE,
): Promise<{ close(): Promise<void> }> {
  await checkRedis(target);
  const lockDuration = options.lockDurationMs ?? 30_000;
  const worker = new Worker<In, Out>(
    name,
    async (job) => {
      options.onJob?.({ key: job.id!, state: 'started', attempt: job.attemptsMade + 1 });
      // Progress writes are chained and awaited before the result, so watchers see every step before 'completed'.
      let written: Promise<unknown> = Promise.resolve();
      const result = await handler(job.data, (progress) => {
        written = written.then(() => job.updateProgress(progress as unknown as object)).catch(() => undefined);
      }).catch((error: unknown) => {
        throw options.unrecoverable?.(error) ? new UnrecoverableError(failureReason(error)) : error;
      });
      await written;
      return result;
    },
    {
      connection: connectionOf(target),
      concurrency: options.concurrency ?? 1,
      lockDuration,
      stalledInterval: options.stalledIntervalMs ?? lockDuration,
      maxStalledCount: options.maxStalledCount ?? 2,
      autorun: false,
    },
  );
  worker.on('error', (error) => options.onError?.(error));
  worker.on('completed', (job) => options.onJob?.({ key: job.id!, state: 'done', attempt: job.attemptsMade }));
  worker.on('failed', (job, error) => job && options.onJob?.({ key: job.id!, state: 'failed', reason: failureReason(error), attempt: job.attemptsMade }));
  await worker.waitUntilReady();
  void worker.run();
  return { close: () => worker.close() };
}

/** `work`, or the signal's reason once it aborts (after `onAbort` has run). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal, onAbort: () => Promise<void>): Promise<T> {
  work.catch(() => undefined);
  return new Promise<T>((resolvePromise, reject) => {
    const abort = (): void => {
      void onAbort()
        .catch(() => undefined)
        .then(() => reject(signal.reason));
    };
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => (signal.removeEventListener('abort', abort), resolvePromise(value)),
      (error: unknown) => (signal.removeEventListener('abort', abort), reject(error)),
    );
  });
}
