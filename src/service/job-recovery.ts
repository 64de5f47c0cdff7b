/**
 * What a new service does with the jobs the previous process left (it stopped, crashed or was killed): a job still
 * 'running' ran when the process ended. Below `maxAttempts` attempts it goes back to the queue (event 'queued'
 * with `requeued: true` and the reason); at the limit it fails with code 'interrupted', saying which attempt it
 * was. Then every queued job is queued again in creation order. Nothing is lost silently.
 */
import type { JobEvents } from './job-events.js';
import type { JobStore } from './job-store.js';

/** The ids to queue again, oldest first. */
export function recoverJobs(store: JobStore, events: JobEvents, maxAttempts: number): string[] {
  const requeued: { id: string; reason: string }[] = [];
  for (const job of store.inState('running')) {
    const reason = `the server stopped while this job ran (attempt ${job.attempts} of ${maxAttempts})`;
    if (job.attempts < maxAttempts) {
      store.update(job.id, { state: 'queued', progress: { stage: 'queued' } });
      requeued.push({ id: job.id, reason });
    } else {
      const error = { code: 'interrupted', message: reason };
      store.update(job.id, { state: 'failed', error, finishedAt: new Date().toISOString() });
      events.emit(job.id, 'error', error);
    }
  }
  const queue = store.inState('queued').map((job) => job.id);
  for (const { id, reason } of requeued) events.emit(id, 'queued', { position: queue.indexOf(id), requeued: true, reason });
  return queue;
}
