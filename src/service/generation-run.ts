/**
 * One generation job run by the service: the checked job → personalize's request (jobs/job-request.ts) with the
 * shared models, the opened soft branch, the caches and the captioner; personalize's progress becomes the job's
 * events ('keywords', 'soft', and 'step' through step-events.ts), and its result is
 * written as `pmg generate` writes it (result.json, candidate-<i>.png, best.png) before one 'candidate' event per
 * candidate. The runner then marks the job done.
 */
import type { GenerationJob } from '../jobs/generation-job.js';
import { jobToPersonalizeRequest } from '../jobs/job-request.js';
import type { KeywordCache } from '../personalize/keyword-cache.js';
import type { ModelIds, ModelSet } from '../providers/model-set.js';
import { personalize } from '../personalize/personalize.js';
import type { PersonalizeResult, ProgressEvent, SoftRequest } from '../personalize/personalize-request.js';
import type { CaptionImage } from '../personalize/verbalize.js';
import type { JobEvents } from './job-events.js';
import type { JobFiles } from './job-files.js';
import type { JobControl, JobOutcome } from './job-runner.js';
import { StepEvents } from './step-events.js';

export interface GenerationRun {
  id: string;
  job: GenerationJob;
  models: ModelSet;
  soft?: SoftRequest;
  keywordCache?: KeywordCache;
  captioner?: CaptionImage;
  control: JobControl;
  events: JobEvents;
  files: JobFiles;
  warn: (message: string) => void;
}

export async function runGenerationJob(run: GenerationRun): Promise<JobOutcome> {
  const { id, events, files, control } = run;
  const steps = new StepEvents(id, events, files, control);
  const result = await personalize(
    run.models,
    jobToPersonalizeRequest(run.job, {
      ...(run.soft ? { soft: run.soft } : {}),
      keywordOptions: { ...(run.keywordCache ? { cache: run.keywordCache } : {}), ...(run.captioner ? { captioner: run.captioner } : {}) },
      signal: control.signal,
      warn: run.warn,
      onProgress: onProgress(run, steps),
      onPreview: (preview) => steps.preview(preview),
      previewEvery: 1,
      previewWanted: steps.wanted,
    }),
  );
  steps.flush();
  return finishGeneration(id, result, run.models.ids, run);
}

/** A generation's end wherever it ran: result.json and the PNGs written, one 'candidate' event each, the outcome. */
export async function finishGeneration(
  id: string,
  result: PersonalizeResult,
  models: ModelIds,
  { events, files, control }: Pick<GenerationRun, 'events' | 'files' | 'control'>,
): Promise<JobOutcome> {
  control.progress({ stage: 'decode' });
  const written = await files.writeGenerationResult(id, result, models);
  const candidates = written.json.candidates as { weights: unknown; dp: number; dt: number; z: number; finished: boolean; image: string }[];
  candidates.forEach((c, index) =>
    events.emit(id, 'candidate', { index, weights: c.weights, dp: c.dp, dt: c.dt, z: c.z, finished: c.finished, image: c.image.replace(/\.png$/, '') }),
  );
  return { result: written.json, images: written.images, done: { chosen: result.chosen, image: 'best', timings: result.timings } };
}

/** personalize's progress as job events: 'keywords' and 'soft' once known, each denoising step through StepEvents. */
function onProgress(run: GenerationRun, steps: StepEvents): (event: ProgressEvent) => void {
  const { id, events, control } = run;
  return (event) => {
    if (event.keywords) events.emit(id, 'keywords', { preference: event.keywords.preference, target: event.keywords.target, cached: event.keywords.cached });
    else if (event.soft) events.emit(id, 'soft', { N: event.soft.N, cached: event.soft.cached });
    else if (event.stage === 'generate' && event.step !== undefined && event.total !== undefined) steps.step(event.step, event.total);
    else if (event.message !== undefined) {
      steps.flush();
      control.progress({ stage: event.stage });
    }
  };
}
