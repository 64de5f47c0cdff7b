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

  subscribe(jobId: string, listener: JobEventListener): () => void {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(jobId) === set) this.listeners.delete(jobId);
    };
  }

  /** Whether anyone listens to the job now (previews are worth encoding only then, or for a later reader). */
  watched(jobId: string): boolean {
    return (this.listeners.get(jobId)?.size ?? 0) > 0;
  }
}
