/**
 * A job's events: each is stored first (job-store.ts, so a client reconnecting with `Last-Event-ID`, even after a
 * restart, gets what it missed) and then handed to the live subscribers of that job. A listener that throws is
 * dropped with a warning; it never stops the job.
 */
import type { JobStore } from './job-store.js';
import type { JobEvent, JobEventType } from './job-types.js';

export type JobEventListener = (event: JobEvent) => void;

/** The event types after which a job has ended (its stream closes). */
export const FINAL_EVENTS: readonly JobEventType[] = ['done', 'error', 'cancelled'];

export class JobEvents {
  private readonly listeners = new Map<string, Set<JobEventListener>>();
  /** Per job, how many of its listeners show the job to someone (SSE clients, library subscribers; not `wait`). */
  private readonly watchers = new Map<string, number>();

  constructor(
    private readonly store: JobStore,
    private readonly warn: (message: string) => void,
  ) {}

  emit(jobId: string, type: JobEventType, data: Record<string, unknown> = {}): JobEvent {
    const event = this.store.appendEvent(jobId, type, data);
    for (const listener of [...(this.listeners.get(jobId) ?? [])]) {
      try {
        listener(event);
      } catch (error) {
        this.listeners.get(jobId)?.delete(listener);
        this.warn(`a listener of job ${jobId} failed and was removed: ${(error as Error).message}`);
      }
    }
    return event;
  }

  /** `watching: false` for a listener that only waits for the end (it makes no previews worth decoding). */
  subscribe(jobId: string, listener: JobEventListener, options: { watching?: boolean } = {}): () => void {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    const watching = options.watching ?? true;
    if (watching) this.watchers.set(jobId, (this.watchers.get(jobId) ?? 0) + 1);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(jobId) === set) this.listeners.delete(jobId);
      const left = (this.watchers.get(jobId) ?? 0) - (watching ? 1 : 0);
      if (left > 0) this.watchers.set(jobId, left);
      else this.watchers.delete(jobId);
    };
  }

  /** Whether someone follows the job's events now: its live previews are decoded and written only then. */
  watched(jobId: string): boolean {
    return (this.watchers.get(jobId) ?? 0) > 0;
  }
}
