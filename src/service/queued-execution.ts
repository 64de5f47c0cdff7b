/**
 * The job service's work on a Redis queue (`pmg serve --queue`, issue 14): jobs keep their whole life in the
 * service (SQLite store, events, files, cancel, recovery); only the generation runs elsewhere, on `pmg worker`
 * processes. A generation job becomes one relayed queue unit whose BullMQ id is the service's job id, so a job
 * that a restart runs again re-attaches to the same queue job instead of generating twice. The worker's progress
 * (keywords, steps, x0 previews) arrives as QueueEvents 'progress' and becomes the same 'keywords' and 'step' events
 * as in process; its result (PNGs inside) is written here as `pmg generate` writes it, then 'candidate' and 'done'.
 * A txt2img job (and so /sdapi/v1/txt2img) travels as a txt2img unit and ends with its `image-<i>` PNGs.
 * Cancel and the time limit remove a job still waiting in Redis (it never runs); a job a worker already runs
 * finishes there and its result is ignored. Shutdown leaves the queue job alone (the next start re-attaches).
 */
import { PmgError } from '../errors/pmg-error.js';
import type { GenerationJob } from '../jobs/generation-job.js';
import { jobToPersonalizeRequest } from '../jobs/job-request.js';
import { BullJobQueue } from '../queue/bullmq-queue.js';
import type { QueueProgress } from '../queue/job-queue.js';
import { decodeResult, generationUnit, type GenerationUnit, type RelaySettings } from '../queue/generation-unit.js';
import type { RedisQueueTarget } from '../queue/queue-url.js';
import type { QueueUnit, QueueUnitResult, RelayedResult, Txt2ImgUnit, Txt2ImgWireResult } from '../queue/relayed-unit.js';
import { finishGeneration } from './generation-run.js';
import type { JobEvents } from './job-events.js';
import type { JobFiles } from './job-files.js';
import type { JobControl, JobOutcome } from './job-runner.js';
import type { StoredJob } from './job-store.js';
import type { Txt2ImgJob } from './job-types.js';
import { finishTxt2Img } from './txt2img-job.js';
import { softRefusal } from './job-input.js';
import { StepEvents } from './step-events.js';

/** Previews a relayed job sends at most (every k-th step), to keep the progress messages in Redis small. */
export const MAX_RELAYED_PREVIEWS = 10;
/** Steps assumed when a job leaves them to the worker's model preset. */
const DEFAULT_STEPS = 25;
const POLL_MS = 2000;

export interface QueuedExecution {
  /** The Redis URL without its password. */
  readonly where: string;
  execute(stored: StoredJob, control: JobControl): Promise<JobOutcome>;
  /** Redis answered the latest check. */
  reachable(): boolean;
  /** Workers connected at the latest check. */
  workers(): number;
  close(): Promise<void>;
}

export async function openQueuedExecution(
  target: RedisQueueTarget,
  deps: {
    events: JobEvents;
    files: JobFiles;
    warn: (message: string) => void;
    /** The fingerprint of the server's --models, when this host has them: workers with other models refuse the jobs. */
    fingerprint?: string;
  },
): Promise<QueuedExecution> {
  const queue = await BullJobQueue.open<QueueUnit, QueueUnitResult>(target);
  let reachable = true;
  let workers = 0;
  const poll = async (): Promise<void> => {
    try {
      workers = await queue.workerCount();
      reachable = true;
    } catch {
      reachable = false;
    }
  };
  await poll();
  const timer = setInterval(() => void poll(), POLL_MS);
  timer.unref();

  const execute = async (stored: StoredJob, control: JobControl): Promise<JobOutcome> => {
    const unit: QueueUnit = {
      ...(stored.kind === 'txt2img' ? txt2imgUnit(stored.job as Txt2ImgJob) : queueUnit(stored.job as GenerationJob)),
      ...(deps.fingerprint ? { fingerprint: deps.fingerprint } : {}),
    };
    const steps = new StepEvents(stored.id, deps.events, deps.files, control);
    let relayed: Promise<void> = Promise.resolve();
    const onProgress = (progress: QueueProgress): void => {
      relayed = relayed
        .then(() => relay(progress, stored.id, steps, deps.events, control))
        .catch((error: unknown) => deps.warn(`job ${stored.id}: ${(error as Error).message}`));
    };
    // Relayed events still being written come before the job's final event, whatever ends it.
    const wire = await queue
      .run(stored.id, unit, { onProgress, signal: control.signal, keepOnAbort: (reason) => reason === 'shutdown' })
      .finally(() => relayed);
    steps.flush();
    if (stored.kind === 'txt2img') {
      const out = wire as Txt2ImgWireResult;
      return finishTxt2Img(stored.id, { ...out, images: out.images.map(({ name, png }) => ({ name, png: Buffer.from(png, 'base64') })) }, deps.files);
    }
    const result = wire as RelayedResult;
    return finishGeneration(stored.id, decodeResult(result), result.models, { events: deps.events, files: deps.files, control });
  };

  return {
    where: queue.where,
    execute,
    reachable: () => reachable,
    workers: () => workers,
    async close() {
      clearInterval(timer);
      await queue.close();
    },
  };
}

/** A checked generation job as a relayed queue unit (the worker extracts the keywords). */
export function queueUnit(job: GenerationJob): GenerationUnit {
  if (job.soft) throw new PmgError('invalid-input', softRefusal, { details: { field: 'soft' } });
  return { ...generationUnit(jobToPersonalizeRequest(job)), relay: relaySettings(job.steps) };
}

function txt2imgUnit(job: Txt2ImgJob): Txt2ImgUnit {
  return { kind: 'txt2img', job, relay: relaySettings(job.steps) };
}

/** Previews every k-th step, at most MAX_RELAYED_PREVIEWS per job. */
function relaySettings(steps = DEFAULT_STEPS): RelaySettings {
  return { previewEvery: Math.max(1, Math.ceil(steps / MAX_RELAYED_PREVIEWS)) };
}

async function relay(progress: QueueProgress, id: string, steps: StepEvents, events: JobEvents, control: JobControl): Promise<void> {
  if (control.signal.aborted) return;
  if (progress.keywords) events.emit(id, 'keywords', { ...progress.keywords });
  else if (progress.stage !== 'generate' || progress.step === undefined || progress.total === undefined) return;
  else if (progress.previews)
    await steps.encodedPreview(
      progress.step,
      progress.total,
      progress.previews.map(({ candidate, png }) => ({ candidate, png: Buffer.from(png, 'base64') })),
    );
  else steps.step(progress.step, progress.total);
}
