/**
 * A plain text-to-image job (the A1111-compatible route): its validator (field paths as in generation jobs) and its
 * run on the service's model set with the pipeline `pmg txt2img` uses (textToImage, the generation record, PNGs
 * carrying their parameters). Defaults: the model set's preset, else the pipeline's.
 */
import { tensorToPngs } from '../core/image-tensor.js';
import { PmgError } from '../errors/pmg-error.js';
import type { ModelSet } from '../providers/model-set.js';
import { describe } from '../personalize/request-validation.js';
import { generationPngTexts, imageRecord, type GenerationRecord } from '../pipeline/generation-record.js';
import { textToImageRecord } from '../pipeline/text-to-image-record.js';
import { MAX_PROMPT_CHARS } from '../pipeline/prompt-encoding.js';
import type { PreviewCallback } from '../pipeline/step-preview.js';
import { DEFAULTS, MAX_SIDE, MAX_STEPS, textToImage } from '../pipeline/text-to-image.js';
import type { StepEvent } from '../pipeline/denoise-state.js';
import { resolveSchedulerName } from '../schedulers/index.js';
import type { JobFiles } from './job-files.js';
import type { JobOutcome } from './job-runner.js';
import type { Txt2ImgJob } from './job-types.js';

/** Images one txt2img job may ask for. */
export const MAX_TXT2IMG_COUNT = 8;

const keys = ['prompt', 'negative', 'steps', 'guidance', 'width', 'height', 'seed', 'count', 'scheduler'] as const;

export function checkTxt2ImgJob(value: unknown): Txt2ImgJob {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid('', `a txt2img job must be an object with a "prompt", got ${describe(value)}`);
  const r = value as Record<string, unknown>;
  for (const key of Object.keys(r))
    if (!(keys as readonly string[]).includes(key)) throw invalid(key, `${key} is not a field of a txt2img job; known: ${keys.join(', ')}`);
  const job: Txt2ImgJob = { prompt: text(r.prompt, 'prompt', true)! };
  const negative = r.negative === undefined ? undefined : typeof r.negative === 'string' ? r.negative : undefined;
  if (r.negative !== undefined && negative === undefined) throw invalid('negative', `negative must be a string, got ${describe(r.negative)}`);
  if (negative !== undefined && negative.length > MAX_PROMPT_CHARS)
    throw invalid('negative', `negative has ${negative.length} characters; the limit is ${MAX_PROMPT_CHARS}`);
  if (negative) job.negative = negative;
  const steps = int(r.steps, 'steps', 1, MAX_STEPS);
  if (steps !== undefined) job.steps = steps;
  if (r.guidance !== undefined) {
    if (typeof r.guidance !== 'number' || !Number.isFinite(r.guidance) || r.guidance < 0)
      throw invalid('guidance', `guidance must be a number >= 0, got ${describe(r.guidance)}`);
    job.guidance = r.guidance;
  }
  for (const side of ['width', 'height'] as const) {
    const v = r[side];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 8 || v > MAX_SIDE || v % 8 !== 0)
      throw invalid(side, `${side} must be a multiple of 8 from 8 to ${MAX_SIDE}, got ${describe(v)}`);
    job[side] = v;
  }
  const seed = int(r.seed, 'seed', 0, Number.MAX_SAFE_INTEGER);
  if (seed !== undefined) job.seed = seed;
  const count = int(r.count, 'count', 1, MAX_TXT2IMG_COUNT);
  if (count !== undefined) job.count = count;
  const scheduler = text(r.scheduler, 'scheduler');
  if (scheduler !== undefined) {
    try {
      resolveSchedulerName(scheduler);
    } catch (error) {
      throw invalid('scheduler', `scheduler: ${(error as Error).message}`);
    }
    job.scheduler = scheduler;
  }
  return job;
}

export interface Txt2ImgRun {
  signal: AbortSignal;
  onStep: (event: StepEvent) => void;
  onPreview: PreviewCallback;
  previewWanted: () => boolean;
  /** Preview every this many steps (default 1). */
  previewEvery?: number;
  warn: (message: string) => void;
}

/** What a txt2img job makes: its PNGs (`image-<i>`) and its result (image names, seeds, the generation record). */
export interface Txt2ImgOutput {
  images: { name: string; png: Buffer }[];
  result: { images: string[]; seeds: number[]; settings: GenerationRecord };
}

/** The job's PNGs (`image-<i>`) and its result: image names, seeds and the generation record. */
export async function runTxt2ImgJob(models: ModelSet, job: Txt2ImgJob, run: Txt2ImgRun): Promise<Txt2ImgOutput> {
  const preset = models.preset;
  const steps = job.steps ?? preset?.steps ?? DEFAULTS.steps;
  const guidanceScale = job.guidance ?? preset?.guidance ?? DEFAULTS.guidanceScale;
  const width = job.width ?? preset?.width ?? DEFAULTS.width;
  const height = job.height ?? preset?.height ?? DEFAULTS.height;
  const seed = job.seed ?? DEFAULTS.seed;
  const negative = job.negative ?? '';
  const count = job.count ?? 1;
  const finalDecoder = models.finalDecoder ?? 'vae';
  const started = performance.now();
  const out = await textToImage(models.sd, {
    candidates: Array.from({ length: count }, () => ({ prompt: job.prompt, negativePrompt: negative })),
    seed,
    steps,
    guidanceScale,
    width,
    height,
    scheduler: job.scheduler ?? preset?.scheduler,
    ...(preset?.timestepSpacing ? { timestepSpacing: preset.timestepSpacing } : {}),
    ...(models.decoder ? { tinyDecoder: models.decoder.decoder } : {}),
    finalDecoder: models.decoder ? finalDecoder : 'vae',
    onPreview: run.onPreview,
    previewWanted: run.previewWanted,
    ...(run.previewEvery !== undefined ? { previewEvery: run.previewEvery } : {}),
    onStep: run.onStep,
    signal: run.signal,
    warn: run.warn,
  });
  const record = textToImageRecord({
    modelId: models.sd.id,
    ...(models.decoder ? { tinyDecoderId: models.decoder.id } : {}),
    prompt: job.prompt,
    negativePrompt: negative,
    steps,
    guidanceScale,
    width,
    height,
    result: out,
    timings: { ...out.timings, total: Math.round((performance.now() - started) * 10) / 10 },
    images: out.seeds.map((s, i) => imageRecord(i, s)),
  });
  const pngs = await tensorToPngs(out.images, (i) => generationPngTexts(record, i));
  const names = pngs.map((_, i) => `image-${i}`);
  return { images: pngs.map((png, i) => ({ name: names[i]!, png })), result: { images: names, seeds: out.seeds, settings: record } };
}

function int(value: unknown, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw invalid(field, `${field} must be a whole number from ${min} to ${max}, got ${describe(value)}`);
  return value;
}

function text(value: unknown, field: string, required = false): string | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw invalid(field, `${field} must be a non-empty string, got ${describe(value)}`);
  if (value.length > MAX_PROMPT_CHARS) throw invalid(field, `${field} has ${value.length} characters; the limit is ${MAX_PROMPT_CHARS}`);
  return value;
}

function invalid(field: string, message: string): PmgError {
  return new PmgError('invalid-input', message, { details: field ? { field } : {} });
}

/** A txt2img job's end wherever it ran: its PNGs written into the job folder, then the runner's outcome. */
export async function finishTxt2Img(id: string, out: Txt2ImgOutput, files: JobFiles): Promise<JobOutcome> {
  await files.writeImages(id, out.images);
  return { result: out.result, images: out.result.images, done: { image: out.result.images[0], timings: out.result.settings.timings ?? {} } };
}
