/**
 * One generation job run by the service: the checked job → personalize's request (jobs/job-request.ts) with the
 * shared models, the opened soft branch, the caches and the captioner; personalize's progress becomes the job's
 * events ('keywords', 'soft', 'step' with the newest x0 previews written as `preview-<k>.png`), and its result is
 * written as `pmg generate` writes it (result.json, candidate-<i>.png, best.png) before one 'candidate' event per
 * candidate. The runner then marks the job done.
 */
import type { GenerationJob } from '../jobs/generation-job.js';
import { jobToPersonalizeRequest } from '../jobs/job-request.js';
import type { KeywordCache } from '../personalize/keyword-cache.js';
import type { ModelSet } from '../personalize/model-set.js';
import { personalize } from '../personalize/personalize.js';
import type { ProgressEvent, SoftRequest } from '../personalize/personalize-request.js';
import type { CaptionImage } from '../personalize/verbalize.js';
import type { StepPreview } from '../pipeline/step-preview.js';
import type { JobEvents } from './job-events.js';
import type { JobFiles } from './job-files.js';
import type { JobControl, JobOutcome } from './job-runner.js';

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
  const steps = new StepEvents(run);
  const result = await personalize(
    run.models,
    jobToPersonalizeRequest(run.job, {
      ...(run.soft ? { soft: run.soft } : {}),
      keywordOptions: { ...(run.keywordCache ? { cache: run.keywordCache } : {}), ...(run.captioner ? { captioner: run.captioner } : {}) },
      signal: control.signal,
      warn: run.warn,
      onProgress: (event) => steps.progress(event),
      onPreview: (preview) => steps.preview(preview),
      previewEvery: 1,
    }),
  );
  steps.flush();
  control.progress({ stage: 'decode' });
  const written = await files.writeGenerationResult(id, result, run.models.ids);
  const candidates = written.json.candidates as { weights: unknown; dp: number; dt: number; z: number; finished: boolean; image: string }[];
  candidates.forEach((c, index) =>
    events.emit(id, 'candidate', { index, weights: c.weights, dp: c.dp, dt: c.dt, z: c.z, finished: c.finished, image: c.image.replace(/\.png$/, '') }),
  );
  return { result: written.json, images: written.images, done: { chosen: result.chosen, image: 'best', timings: result.timings } };
}

/**
 * personalize's progress as job events: 'keywords' and 'soft' once known, and one 'step' per denoising step, sent
 * after that step's previews are on disk (the last step has none), so a client that gets the event can fetch them.
 */
class StepEvents {
  private pending: { step: number; total: number } | undefined;

  constructor(private readonly run: GenerationRun) {}

  progress(event: ProgressEvent): void {
    const { id, events, control } = this.run;
    if (event.keywords) {
      events.emit(id, 'keywords', { preference: event.keywords.preference, target: event.keywords.target, cached: event.keywords.cached });
      return;
    }
    if (event.soft) {
      events.emit(id, 'soft', { N: event.soft.N, cached: event.soft.cached });
      return;
    }
    if (event.stage === 'generate' && event.step !== undefined && event.total !== undefined) {
      this.sendPending();
      control.progress({ stage: 'generate', step: event.step, total: event.total });
      if (event.step > 0) this.pending = { step: event.step, total: event.total };
      return;
    }
    if (event.message !== undefined) {
      this.sendPending();
      control.progress({ stage: event.stage });
    }
  }

  async preview(preview: StepPreview): Promise<void> {
    const { id, events, files, control } = this.run;
    const written = await files.writePreviews(id, preview);
    control.addImages(written.map((w) => w.image));
    const pending = this.pending;
    this.pending = undefined;
    events.emit(id, 'step', {
      step: preview.stepsDone,
      total: pending?.total ?? preview.requestedSteps,
      previews: written,
      version: preview.stepsDone,
    });
  }

  flush(): void {
    this.sendPending();
  }

  private sendPending(): void {
    if (!this.pending) return;
    const { step, total } = this.pending;
    this.pending = undefined;
    this.run.events.emit(this.run.id, 'step', { step, total, previews: [], version: step });
  }
}
