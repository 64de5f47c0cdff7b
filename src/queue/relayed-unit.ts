/**
 * A relayed generation unit (`pmg serve --queue`, issue 14): the worker runs it as any unit, and besides the denoising
 * steps it reports what the service's SSE stream shows in process — the keywords once known and, every
 * `relay.previewEvery` steps, the running candidates' x0 previews as small PNGs (base64) — all through
 * `job.updateProgress`. The result carries the worker's model ids, which the service writes into result.json.
 * The service's txt2img jobs travel as their own unit kind (`{ kind: 'txt2img', job }`) on the same queue, so one
 * `pmg worker` runs both (runQueueUnit).
 */
import type { PersonalizeResult } from '../personalize/personalize-request.js';
import { personalize } from '../personalize/personalize.js';
import { encodePreviewPngs } from '../pipeline/preview-files.js';
import type { ModelIds, ModelSet, PersonalizeModels } from '../providers/model-set.js';
import { PmgError } from '../errors/pmg-error.js';
import { runTxt2ImgJob, type Txt2ImgOutput } from '../service/txt2img-job.js';
import type { Txt2ImgJob } from '../service/job-types.js';
import type { StepPreview } from '../pipeline/step-preview.js';
import type { QueueProgress } from './job-queue.js';
import {
  checkUnitModels,
  encodeResult,
  madeBy,
  runGenerationUnit,
  type GenerationUnit,
  type RelaySettings,
  type UnitRunner,
  type WireResult,
} from './generation-unit.js';

/** A relayed unit's result: the wire result and the ids of the models that made it. */
export type RelayedResult = WireResult & { models: ModelIds };

export async function runRelayedUnit(
  models: PersonalizeModels,
  request: Omit<GenerationUnit, 'relay' | 'fingerprint'>,
  relay: RelaySettings,
  reportNow: (progress: QueueProgress) => void,
): Promise<RelayedResult> {
  const report = new OrderedReports(reportNow);
  const result: PersonalizeResult = await personalize(models, {
    ...request,
    onProgress: (event) => {
      if (event.keywords)
        report.now({ stage: 'keywords', keywords: { preference: event.keywords.preference, target: event.keywords.target, cached: event.keywords.cached } });
      else if (event.stage === 'generate' && event.step !== undefined)
        report.now({ stage: 'generate', step: event.step, ...(event.total !== undefined ? { total: event.total } : {}) });
    },
    ...(relay.previewEvery > 0 ? { previewEvery: relay.previewEvery, onPreview: (preview: StepPreview) => report.preview(preview) } : {}),
  });
  await report.settled();
  return { ...encodeResult(result), models: models.ids };
}

/** A txt2img job of the service on the queue. */
export interface Txt2ImgUnit {
  kind: 'txt2img';
  job: Txt2ImgJob;
  relay: RelaySettings;
  /** The models the unit must run on (model-fingerprint.ts). */
  fingerprint?: string;
}

/** A txt2img unit's result: the PNGs as base64. */
export type Txt2ImgWireResult = Omit<Txt2ImgOutput, 'images'> & { images: { name: string; png: string }[] };

/** What travels on the generation queue, and what comes back. */
export type QueueUnit = GenerationUnit | Txt2ImgUnit;
export type QueueUnitResult = WireResult | Txt2ImgWireResult;

/** What `pmg worker` runs: a txt2img unit, or a generation unit (eval's, or a relayed one of the service). */
export async function runQueueUnit(
  models: PersonalizeModels,
  unit: QueueUnit,
  report: (progress: QueueProgress) => void,
  runner?: UnitRunner,
): Promise<QueueUnitResult> {
  if (!('kind' in unit && unit.kind === 'txt2img')) {
    const { relay, fingerprint, ...request } = unit as GenerationUnit;
    if (!relay) return runGenerationUnit(models, unit as GenerationUnit, runner);
    checkUnitModels(fingerprint, runner);
    return { ...(await runRelayedUnit(models, request, relay, report)), ...madeBy(runner) };
  }
  checkUnitModels(unit.fingerprint, runner);
  const { sd } = models;
  if (!sd) throw new PmgError('invalid-argument', 'txt2img jobs need a worker with a local Stable Diffusion model; this worker sends images to --generator');
  return runTxt2ImgUnit({ ...models, sd }, unit, report);
}

async function runTxt2ImgUnit(models: ModelSet, unit: Txt2ImgUnit, reportNow: (progress: QueueProgress) => void): Promise<Txt2ImgWireResult> {
  const every = unit.relay.previewEvery;
  const report = new OrderedReports(reportNow);
  const out = await runTxt2ImgJob(models, unit.job, {
    signal: new AbortController().signal,
    onStep: (event) => report.now({ stage: 'generate', step: event.stepsDone, total: event.requestedSteps }),
    onPreview: (preview) => report.preview(preview),
    previewWanted: () => every > 0,
    previewEvery: Math.max(1, every),
    warn: () => undefined,
  });
  await report.settled();
  return { ...out, images: out.images.map(({ name, png }) => ({ name, png: png.toString('base64') })) };
}

/**
 * Progress messages in the order the run made them: a preview's PNGs are encoded at once, but its message waits for
 * those before it, and a later step's message waits for it. (Out of order, the service would send a step's event
 * twice, once without and once with its previews.)
 */
class OrderedReports {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly report: (progress: QueueProgress) => void) {}

  now(progress: QueueProgress): void {
    this.chain = this.chain.then(() => this.report(progress));
  }

  /** Each x0 preview as one progress message with its PNGs (base64). */
  preview(preview: StepPreview): Promise<void> {
    const encoded = encodePreviewPngs(preview);
    this.chain = this.chain.then(async () =>
      this.report({
        stage: 'generate',
        step: preview.stepsDone,
        total: preview.requestedSteps,
        previews: (await encoded).map(({ candidate, png }) => ({ candidate, png: png.toString('base64') })),
      }),
    );
    return encoded.then(() => undefined);
  }

  /** Every message handed on (before the unit's result). */
  settled(): Promise<void> {
    return this.chain;
  }
}
