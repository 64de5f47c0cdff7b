/**
 * A generation unit on the queue (issue 14): one personalize call of an eval — (sample, method) with its α, the
 * run's settings and the sample's shared keywords — as plain JSON, and its result with the PNG bytes as base64, so a
 * worker needs no shared disk. The job id is a hash of (run, sample, method, unit), so the same unit enqueued twice,
 * or completed twice, is one job with one result. A unit carries every data field of a generation job, so
 * `pmg serve --queue` sends its jobs as units too (with `relay`: relayed-unit.ts).
 */
import { createHash } from 'node:crypto';
import { PmgError } from '../errors/pmg-error.js';
import type { PersonalizeModels } from '../providers/model-set.js';
import { personalize, type PersonalizeRequest, type PersonalizeResult } from '../personalize/personalize.js';
import { canonicalJson } from '../experiments/run-config.js';
import { jobKeys, type JobRequestFields } from '../jobs/generation-job.js';

/**
 * The JSON fields of a personalize request a worker can run (no callbacks, caches, files or signals), and the
 * fingerprint of the models the unit must run on (model-fingerprint.ts): a worker with other models refuses it.
 */
export type GenerationUnit = Pick<PersonalizeRequest, JobRequestFields | 'keywords' | 'memory'> & {
  /** A job of `pmg serve --queue` (relayed-unit.ts): report keywords and previews, return the model ids too. */
  relay?: RelaySettings;
  fingerprint?: string;
};

/** What a relayed unit asks of the worker: x0 previews every `previewEvery` steps (0: none). */
export interface RelaySettings {
  previewEvery: number;
}

/** A job's data fields (not its model choices or soft module), the eval's keywords, the memory plan. */
const UNIT_FIELDS = [...jobKeys.filter((key) => key !== 'decoder' && key !== 'generator' && key !== 'soft'), 'keywords', 'memory'] as const;

/** A PersonalizeResult as it travels back: each candidate's png as base64, and which worker with which models made it. */
export type WireResult = Omit<PersonalizeResult, 'candidates'> & {
  candidates: (Omit<PersonalizeResult['candidates'][number], 'png'> & { png: string })[];
  /** The worker's model fingerprint. */
  fingerprint?: string;
  /** The worker (host:pid). */
  worker?: string;
};

/** Who runs units: the worker's name and model fingerprint (absent: no check, e.g. in process). */
export interface UnitRunner {
  worker: string;
  fingerprint: string;
}

/** A unit this worker must not run (another model fingerprint): no retry can help, so the queue fails it at once. */
export class UnitRefused extends PmgError {
  constructor(message: string) {
    super('invalid-argument', message, { details: { field: 'fingerprint' } });
  }
}

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
  const { fingerprint: _fingerprint, worker: _worker, ...result } = wire;
  return { ...result, candidates: wire.candidates.map((c) => ({ ...c, png: Buffer.from(c.png, 'base64') })) };
}

/** Refuses a unit enqueued for models other than this worker's (no check without a fingerprint on either side). */
export function checkUnitModels(expected: string | undefined, runner: UnitRunner | undefined): void {
  if (runner && expected !== undefined && expected !== runner.fingerprint)
    throw new UnitRefused(
      `worker ${runner.worker} has models ${runner.fingerprint}, the run needs ${expected}; start the worker with the run's --models (and --generator)`,
    );
}

/** Which worker with which models made a result (nothing in process). */
export function madeBy(runner: UnitRunner | undefined): Pick<WireResult, 'fingerprint' | 'worker'> {
  return runner ? { fingerprint: runner.fingerprint, worker: runner.worker } : {};
}

/**
 * What `pmg worker` does with an eval's unit: personalize with the models it loaded once. It reports no steps: the
 * coordinator shows none, and one Redis write per step was most of the queue's cost per job (pmg bench queue: 13.9 →
 * 2.7 ms). A service's relayed units, which report every step, go through relayed-unit.ts.
 */
export async function runGenerationUnit(models: PersonalizeModels, unit: GenerationUnit, runner?: UnitRunner): Promise<WireResult> {
  const { fingerprint: expected, relay: _relay, ...request } = unit;
  checkUnitModels(expected, runner);
  const result = await personalize(models, request);
  return { ...encodeResult(result), ...madeBy(runner) };
}
