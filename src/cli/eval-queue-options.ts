/**
 * `pmg eval --queue redis://...` (issue 14): the flags, and each (sample, method) generation as a queue job keyed by
 * hash(run, sample, method, unit), pinned to the run's model fingerprint (queue/model-fingerprint.ts):
 * - the fingerprint is computed here from --models (and --generator) when this host has them, else it is the first
 *   result's; it is kept in run.sqlite, so a resumed run checks against the same one;
 * - every unit carries it, so a worker with other models refuses the unit at once (no retries);
 * - a result with another fingerprint (a worker that does not check) fails its unit with a line naming both, recorded
 *   in the run's failures like any failed unit; the run goes on and the report counts it.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { RunStore } from '../experiments/run-store.js';
import { canonicalJson, type EvalConfig } from '../experiments/run-config.js';
import type { PersonalizeRequest } from '../personalize/personalize-request.js';
import type { GeneratorModelSetSpec } from '../providers/model-set.js';
import { QueueJobFailed } from '../queue/job-queue.js';
import type { BullJobQueue } from '../queue/bullmq-queue.js';
import { decodeResult, generationUnit, unitKey, type GenerationUnit, type WireResult } from '../queue/generation-unit.js';
import { parseQueueUrl } from '../queue/queue-url.js';
import { stringOption, type CommandContext, type OptionSpec } from './command.js';
import { intOption } from './option-values.js';

export const evalQueueOptions: Record<'queue' | 'attempts' | 'backoff' | 'in-flight', OptionSpec> = {
  queue: {
    type: 'string',
    value: 'URL',
    description: "in-process (default) or redis://[:password@]host:port[/db] (or env: PMG_REDIS_URL): enqueue every generation for 'pmg worker' processes",
  },
  attempts: { type: 'string', value: 'N', description: 'with --queue: tries per generation before it is recorded as failed (default: 3)' },
  backoff: { type: 'string', value: 'MS', description: 'with --queue: wait before the 2nd try, doubled for each later one (default: 1000)' },
  'in-flight': {
    type: 'string',
    value: 'N',
    description: "with --queue: samples in flight at once (keep it above the workers' total concurrency; default: 8)",
  },
};

/** Where the run's fingerprint is kept (run.sqlite). */
export type FingerprintStore = Pick<RunStore, 'pinnedFingerprint' | 'pinFingerprint'>;

export type EvalQueueChoice = NonNullable<ReturnType<typeof queueChoice>>;

/** --queue and its companions; undefined for the in-process default (whose companions are refused). */
export function queueChoice(context: CommandContext) {
  const target = parseQueueUrl(stringOption(context, 'queue'), context.io.env);
  if (target.kind === 'in-process') {
    for (const flag of ['attempts', 'backoff', 'in-flight'])
      if (stringOption(context, flag) !== undefined)
        throw new PmgError('invalid-argument', `--${flag} applies with --queue redis://...; leave it out for an in-process run`);
    return undefined;
  }
  const retry = {
    attempts: intOption(context, 'attempts', { min: 1, max: 100, fallback: 3 }),
    backoffMs: intOption(context, 'backoff', { min: 0, fallback: 1000 }),
  };
  return { target, retry, inFlight: intOption(context, 'in-flight', { min: 1, fallback: 8 }) };
}

/**
 * The run's fingerprint at the start: this host's (when it has the models), checked against the one run.sqlite
 * pinned earlier; undefined when neither is known (the first result pins it).
 */
export function startFingerprint(store: FingerprintStore, local: string | undefined): string | undefined {
  const pinned = store.pinnedFingerprint();
  if (local !== undefined && pinned !== undefined && local !== pinned)
    throw new PmgError(
      'invalid-argument',
      `--models: the run in this --out was generated with models ${pinned}, these are ${local}; give the run's models, or another --out for a new run`,
      { details: { field: 'models' } },
    );
  if (local !== undefined && pinned === undefined) store.pinFingerprint(local);
  return local ?? pinned;
}

/** Each (sample, method) generation as a queue job keyed by hash(run, sample, method, unit); the run is its folder and config. */
export function queuedGenerate(
  queue: Pick<BullJobQueue<GenerationUnit, WireResult>, 'run'>,
  out: string,
  config: EvalConfig,
  store: FingerprintStore,
  local?: string,
) {
  const run = canonicalJson({ out, config });
  let pinned = startFingerprint(store, local);
  return async (sampleId: string, method: string, request: PersonalizeRequest) => {
    const unit: GenerationUnit = { ...generationUnit(request), ...(pinned !== undefined ? { fingerprint: pinned } : {}) };
    const key = unitKey(run, sampleId, method, unit);
    const wire = await queue.run(key, unit);
    if (pinned === undefined && wire.fingerprint !== undefined) {
      pinned = wire.fingerprint;
      store.pinFingerprint(pinned);
    } else if (wire.fingerprint !== pinned)
      throw new QueueJobFailed(
        key,
        `worker ${wire.worker ?? '(unnamed)'} returned results of models ${wire.fingerprint ?? '(no fingerprint)'}, the run's are ${pinned}; start the workers with the run's --models (and --generator)`,
        1,
      );
    return decodeResult(wire);
  };
}
