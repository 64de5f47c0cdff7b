/**
 * The queue of the job service: queued jobs in creation order, at most `concurrency` running at once, each with an
 * abort controller (cancel, time limit, shutdown) and its state kept in the store. A job's work is the service's
 * `execute` function; the runner owns the transitions:
 *   queued → running (attempt n, event 'started') → done (files first, then the state, then event 'done')
 *                                                 → failed (event 'error' {code, message, field})
 *                                                 → cancelled (event 'cancelled')
 * A job aborted by shutdown is left 'running' in the store, so the next open runs it again (job-recovery.ts).
 */
import { PmgError } from '../errors/pmg-error.js';
import type { JobEvents } from './job-events.js';
import type { JobStore, StoredJob } from './job-store.js';
import type { JobError, JobProgress, JobRecord } from './job-types.js';

/** What a job's work hands back: its result, its images, and the data of its 'done' event. */
export interface JobOutcome {
  result: unknown;
  images: string[];
  done: Record<string, unknown>;
}

/** What the work of a running job can do besides returning. */
export interface JobControl {
  signal: AbortSignal;
  progress(progress: JobProgress): void;
  /** Image names that exist now (previews), added to the record. */
  addImages(names: readonly string[]): void;
}

export type JobExecutor = (job: StoredJob, control: JobControl) => Promise<JobOutcome>;

export interface JobRunnerOptions {
  store: JobStore;
  events: JobEvents;
  execute: JobExecutor;
  concurrency: number;
  jobTimeoutMs: number;
  warn: (message: string) => void;
}

type AbortReason = 'cancel' | 'timeout' | 'shutdown';

interface Running {
  controller: AbortController;
  done: Promise<void>;
  images: Set<string>;
}

/** Jobs looked at for the Retry-After estimate, and the estimate without any (ms). */
const RECENT_JOBS = 10;
const DEFAULT_JOB_MS = 30_000;

export class JobRunner {
  private readonly queue: string[] = [];
  private readonly running = new Map<string, Running>();
  private accepting = true;

  constructor(private readonly options: JobRunnerOptions) {}

  enqueue(id: string): void {
    this.queue.push(id);
    this.pump();
  }

  queued(): number {
    return this.queue.length;
  }

  runningCount(): number {
    return this.running.size;
  }

  /** 0 = next; undefined when not queued. */
  position(id: string): number | undefined {
    const index = this.queue.indexOf(id);
    return index < 0 ? undefined : index;
  }

  /** Queued: cancelled now. Running: aborted (the job ends 'cancelled' at its next step). Returns whether it acted. */
  cancel(id: string): boolean {
    const index = this.queue.indexOf(id);
    if (index >= 0) {
      this.queue.splice(index, 1);
      this.finish(id, { state: 'cancelled' }, 'cancelled', {});
      return true;
    }
    const run = this.running.get(id);
    if (run) {
      run.controller.abort('cancel' satisfies AbortReason);
      return true;
    }
    return false;
  }

  /** Seconds until a queue slot is likely free: the mean of the latest run times, over the running slots; at least 1. */
  retryAfterSeconds(): number {
    const durations = this.options.store.recentDurations(RECENT_JOBS).filter((ms) => Number.isFinite(ms) && ms >= 0);
    const mean = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : DEFAULT_JOB_MS;
    return Math.max(1, Math.ceil(mean / this.options.concurrency / 1000));
  }

  /** Stop starting jobs, abort the running ones (they stay 'running' in the store) and wait for them to stop. */
  async close(): Promise<void> {
    this.accepting = false;
    const runs = [...this.running.values()];
    for (const run of runs) run.controller.abort('shutdown' satisfies AbortReason);
    await Promise.all(runs.map((r) => r.done));
  }

  private pump(): void {
    while (this.accepting && this.running.size < this.options.concurrency && this.queue.length > 0) {
      const id = this.queue.shift()!;
      const job = this.options.store.get(id);
      if (!job || job.state !== 'queued') continue;
      this.start(job);
    }
  }

  private start(job: StoredJob): void {
    const { store, events } = this.options;
    const controller = new AbortController();
    const attempt = job.attempts + 1;
    const images = new Set(job.images);
    store.update(job.id, { state: 'running', startedAt: new Date().toISOString(), attempts: attempt, progress: { stage: 'keywords' } });
    events.emit(job.id, 'started', { attempt });
    const timer = setTimeout(() => controller.abort('timeout' satisfies AbortReason), this.options.jobTimeoutMs);
    const control: JobControl = {
      signal: controller.signal,
      progress: (progress) => {
        if (!controller.signal.aborted) store.update(job.id, { progress });
      },
      addImages: (names) => {
        const before = images.size;
        for (const name of names) images.add(name);
        if (images.size !== before) store.update(job.id, { images: [...images] });
      },
    };
    const run: Running = { controller, images, done: Promise.resolve() };
    this.running.set(job.id, run);
    run.done = this.options
      .execute({ ...job, state: 'running', attempts: attempt }, control)
      .then(
        (outcome) => ({ outcome, error: undefined }),
        (error: unknown) => ({ outcome: undefined, error }),
      )
      .then(({ outcome, error }) => {
        // Out of the running set first: whoever hears the final event sees the job ended everywhere.
        clearTimeout(timer);
        this.running.delete(job.id);
        try {
          if (outcome) {
            const all = [...new Set([...images, ...outcome.images])];
            this.finish(job.id, { state: 'done', result: outcome.result, images: all, progress: { stage: 'done' } }, 'done', outcome.done);
          } else this.failed(job.id, controller.signal, error);
        } catch (failure) {
          this.options.warn(`job ${job.id}: could not record its end: ${(failure as Error).message}`);
        }
        this.pump();
      });
  }

  private failed(id: string, signal: AbortSignal, error: unknown): void {
    const reason = signal.aborted ? (signal.reason as AbortReason) : undefined;
    if (reason === 'shutdown') return; // left 'running': the next open runs it again
    if (reason === 'cancel') return this.finish(id, { state: 'cancelled' }, 'cancelled', {});
    const jobError =
      reason === 'timeout'
        ? { code: 'timeout', message: `the job ran longer than its time limit of ${formatSeconds(this.options.jobTimeoutMs)} and was stopped` }
        : jobErrorOf(error);
    if (jobError.code === 'internal') this.options.warn(`job ${id} failed: ${(error as Error)?.stack ?? String(error)}`);
    this.finish(id, { state: 'failed', error: jobError }, 'error', { ...jobError });
  }

  /** The end of a job: its state (with the finish time) then its final event. */
  private finish(
    id: string,
    patch: Partial<Pick<JobRecord, 'state' | 'result' | 'images' | 'error' | 'progress'>>,
    type: 'done' | 'error' | 'cancelled',
    data: Record<string, unknown>,
  ): void {
    this.options.store.update(id, { ...patch, finishedAt: new Date().toISOString() });
    this.options.events.emit(id, type, data);
  }
}

/** A PmgError's code, first message line and field; anything else is 'internal'. */
export function jobErrorOf(error: unknown): JobError {
  if (error instanceof PmgError) {
    const field = typeof error.details.field === 'string' ? error.details.field : undefined;
    return { code: error.code, message: firstLine(error.message), ...(field ? { field } : {}) };
  }
  return { code: 'internal', message: firstLine(error instanceof Error ? error.message : String(error)) };
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
