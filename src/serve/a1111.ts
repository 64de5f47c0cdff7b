/**
 * The AUTOMATIC1111-compatible `POST /sdapi/v1/txt2img`: its body becomes a txt2img job (sampler names map to pmg
 * schedulers where one matches), the route waits for the job and answers in A1111's shape
 * `{ images: [base64 PNG], parameters: {the body with defaults}, info: "<JSON text>" }`.
 */
import { randomInt } from 'node:crypto';
import { PmgError } from '../errors/pmg-error.js';
import type { Txt2ImgJob } from '../service/job-types.js';
import type { A1111Txt2ImgBody } from './job-schema.js';

/** A1111 sampler names that have a pmg scheduler (the same algorithm, diffusers' defaults). */
export const a1111Samplers: Readonly<Record<string, string>> = {
  Euler: 'euler',
  'Euler a': 'euler-ancestral',
  DDIM: 'ddim',
  PLMS: 'pndm',
  'DPM++ 2M': 'dpm-solver++',
  LCM: 'lcm',
};

/** Job field → the A1111 field a client wrote, for error paths. */
const a1111Fields: Readonly<Record<string, string>> = {
  prompt: 'prompt',
  negative: 'negative_prompt',
  steps: 'steps',
  guidance: 'cfg_scale',
  width: 'width',
  height: 'height',
  seed: 'seed',
  count: 'batch_size',
  scheduler: 'sampler_name',
};

/** The txt2img job for an A1111 body (defaults filled by the schema); seed -1 draws a random seed. */
export function a1111ToJob(body: A1111Txt2ImgBody): Txt2ImgJob {
  const job: Txt2ImgJob = {
    prompt: body.prompt,
    negative: body.negative_prompt,
    steps: body.steps,
    guidance: body.cfg_scale,
    width: body.width,
    height: body.height,
    seed: body.seed < 0 ? randomInt(0, 2 ** 32) : body.seed,
    count: body.batch_size * body.n_iter,
  };
  const sampler = body.sampler_name;
  if (sampler !== undefined && sampler !== null && sampler !== '') {
    const scheduler = a1111Samplers[sampler] ?? a1111Samplers[Object.keys(a1111Samplers).find((n) => n.toLowerCase() === sampler.toLowerCase()) ?? ''];
    if (!scheduler)
      throw new PmgError('invalid-input', `sampler_name: '${sampler}' has no pmg scheduler; use one of ${Object.keys(a1111Samplers).join(', ')}`, {
        details: { field: 'sampler_name' },
      });
    job.scheduler = scheduler;
  }
  return job;
}

/** An engine error about a job field, told with the A1111 field name. */
export function a1111Error(error: unknown): unknown {
  if (!(error instanceof PmgError) || typeof error.details.field !== 'string') return error;
  const field = error.details.field;
  const named = a1111Fields[field];
  if (!named || named === field) return error;
  const message = error.message.startsWith(field) ? `${named}${error.message.slice(field.length)}` : `${named}: ${error.message}`;
  return new PmgError(error.code, message, { cause: error, details: { ...error.details, field: named } });
}

/** A1111's answer: base64 PNGs, the parameters with defaults, and `info` as a JSON string. */
export function a1111Response(
  body: A1111Txt2ImgBody,
  job: Txt2ImgJob,
  pngs: Buffer[],
  seeds: number[],
): { images: string[]; parameters: unknown; info: string } {
  const info = {
    prompt: job.prompt,
    all_prompts: pngs.map(() => job.prompt),
    negative_prompt: job.negative ?? '',
    all_negative_prompts: pngs.map(() => job.negative ?? ''),
    seed: seeds[0] ?? job.seed,
    all_seeds: seeds,
    subseed: -1,
    all_subseeds: seeds.map(() => -1),
    steps: job.steps,
    cfg_scale: job.guidance,
    width: job.width,
    height: job.height,
    sampler_name: body.sampler_name ?? null,
    batch_size: body.batch_size,
    n_iter: body.n_iter,
    scheduler: job.scheduler ?? null,
    sd_model_name: null,
    job_timestamp: new Date().toISOString(),
  };
  return { images: pngs.map((png) => png.toString('base64')), parameters: body, info: JSON.stringify(info) };
}
