/**
 * A generation unit on the queue (issue 14): one personalize call of an eval — (sample, method) with its α, the
 * run's settings and the sample's shared keywords — as plain JSON, and its result with the PNG bytes as base64, so a
 * worker needs no shared disk. The job id is a hash of (run, sample, method, unit), so the same unit enqueued twice,
 * or completed twice, is one job with one result. A unit carries every data field of a generation job, so
 * `pmg serve --queue` sends its jobs as units too (with `relay`: relayed-unit.ts).
 */
import { createHash } from 'node:crypto';
import type { ModelSet } from '../providers/model-set.js';
import { personalize, type PersonalizeRequest, type PersonalizeResult } from '../personalize/personalize.js';
import { canonicalJson } from '../experiments/run-config.js';
import { jobKeys, type JobRequestFields } from '../jobs/generation-job.js';
import type { QueueProgress } from './job-queue.js';
import { runRelayedUnit } from './relayed-unit.js';

/** The JSON fields of a personalize request a worker can run (no callbacks, caches, files or signals). */
export type GenerationUnit = Pick<PersonalizeRequest, JobRequestFields | 'keywords' | 'memory'> & {
  /** A job of `pmg serve --queue` (relayed-unit.ts): report keywords and previews, return the model ids too. */
  relay?: RelaySettings;
};

/** What a relayed unit asks of the worker: x0 previews every `previewEvery` steps (0: none). */
export interface RelaySettings {
  previewEvery: number;
}

/** A job's data fields (not its model choices or soft module), the eval's keywords, the memory plan. */
const UNIT_FIELDS = [...jobKeys.filter((key) => key !== 'decoder' && key !== 'generator' && key !== 'soft'), 'keywords', 'memory'] as const;

/** A PersonalizeResult as it travels back: each candidate's png as base64. */
export type WireResult = Omit<PersonalizeResult, 'candidates'> & { candidates: (Omit<PersonalizeResult['candidates'][number], 'png'> & { png: string })[] };

export function generationUnit(request: PersonalizeRequest): GenerationUnit {
  const unit: Record<string, unknown> = {};
  for (const field of UNIT_FIELDS) if (request[field] !== undefined) unit[field] = request[field];
  return JSON.parse(JSON.stringify(unit)) as GenerationUnit;
}

/** The job id: sha256 of (run, sample, method, unit), hex (BullMQ ids must not contain ':'). */
export function unitKey(run: string, sampleId: string, method: string, unit: GenerationUnit): string {
  return 'u' + createHash('sha256').update(canonicalJson({ run, sampleId, method, unit })).digest('hex').slice(0, 40);
}

export function encodeResult(result: PersonalizeResult): WireResult {
  return { ...result, candidates: result.candidates.map((c) => ({ ...c, png: Buffer.from(c.png).toString('base64') })) };
}

export function decodeResult(wire: WireResult): PersonalizeResult {
  return { ...wire, candidates: wire.candidates.map((c) => ({ ...c, png: Buffer.from(c.png, 'base64') })) };
}

/** What `pmg worker` does with a unit: personalize with the models it loaded once, denoising steps as progress. */
export async function runGenerationUnit(models: ModelSet, unit: GenerationUnit, report: (progress: QueueProgress) => void): Promise<WireResult> {
  if (unit.relay) return runRelayedUnit(models, unit, unit.relay, report);
  const result = await personalize(models, {
    ...unit,
    onProgress: (event) => {
      if (event.stage === 'generate' && event.step !== undefined)
        report({ stage: 'generate', step: event.step, ...(event.total !== undefined ? { total: event.total } : {}) });
    },
  });
  return encodeResult(result);
}
