/**
 * A checked GenerationJob plus the things that are not data (the opened soft branch, callbacks, caches, latents)
 * → personalize's request, so personalize keeps its API. The job's soft *data* (module folder, body) is the
 * interface's to open (cli/soft-options.ts `openSoftBranch`); its result arrives here as `runtime.soft`.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { PersonalizeRequest, SoftRequest } from '../personalize/personalize-request.js';
import type { GenerationJob } from './generation-job.js';

/** Everything of a personalize request that is not plain data. */
export type JobRuntime = Pick<
  PersonalizeRequest,
  | 'latents'
  | 'latentsSource'
  | 'memory'
  | 'keywordOptions'
  | 'onPreview'
  | 'previewEvery'
  | 'previewWanted'
  | 'signal'
  | 'onProgress'
  | 'warn'
  | 'info'
  | 'keywords'
> & {
  /** The opened soft branch of `job.soft` (required when the job has one). */
  soft?: SoftRequest;
};

export function jobToPersonalizeRequest(job: GenerationJob, runtime: JobRuntime = {}): PersonalizeRequest {
  const { soft: softData, decoder: _decoder, generator: _generator, ...data } = job; // the decoder and generator are model choices (ModelSetSpec), not request fields
  const { soft, ...rest } = runtime;
  if (softData && !soft) throw new PmgError('internal', 'the job has a soft module but no opened soft branch was given (runtime.soft)');
  if (soft && !softData) throw new PmgError('internal', 'runtime.soft was given for a job without a soft module');
  return { ...data, ...rest, ...(soft ? { soft: { ...soft, weight: softData?.weight ?? soft.weight ?? 1 } } : {}) };
}
