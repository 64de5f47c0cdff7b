/**
 * Text to image with Stable Diffusion, as a short list of numbered stages (like diffusers):
 *   1. check inputs  2. encode prompts  3. set timesteps  4. prepare latents
 *   5. denoise (batched classifier-free guidance; live step previews when asked)  6. decode (the model's VAE, or a
 *   tiny autoencoder when `finalDecoder` is 'tiny': the same decodeLatents, another VaeDecoder).
 * Stages 3-5 live in DenoiseState, so a caller can also drive them step by step (previews,
 * early stopping, continuing only chosen candidates). Never imports onnxruntime.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { DecoderKind, StableDiffusionModel, VaeDecoder } from '../spec/diffusion-models.js';
import type { Scheduler, SchedulerName, TimestepSpacing } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { encodeConditioning, type CandidateConditioning } from './conditioning.js';
import { decodeLatents, finalDecoderOf } from './decode-latents.js';
import { DenoiseState, type StepEvent } from './denoise-state.js';
import { livePreviewHook, type PreviewCallback } from './step-preview.js';
import type { SchedulerRecord } from './generation-record.js';
import { decoderForMemory, planUnetMemory, type MemoryOptions, type MemoryRecord } from './memory-plan.js';
import { MAX_PROMPT_CHARS, promptLength } from './prompt-encoding.js';
import { sdPipelineScheduler } from './sd-scheduler-config.js';

export const MAX_STEPS = 1000;
export const MAX_SIDE = 4096;

export interface TextToImageRequest {
  /** One candidate per entry (text, weighted spans, embeddings, extra tokens). */
  candidates: CandidateConditioning[];
  /**
   * Seed of candidate i is `seed + i` unless `seeds` is given. Default 0. It seeds pmg's own generator
   * (xoshiro128** + Box-Muller, core/random.ts), not torch.randn: the same seed does not give diffusers' noise.
   */
  seed?: number;
  seeds?: number[];
  /**
   * Initial latents `[k, 4, height/8, width/8]` (one row per candidate) or `[1, 4, height/8, width/8]` (shared by
   * all) instead of seeded noise, multiplied by the scheduler's init_noise_sigma as diffusers' prepare_latents does
   * with latents it is given. The seeds still drive the noise of stochastic schedulers.
   */
  latents?: FloatTensor;
  /** DDIM's eta, from 0 (default, deterministic) to 1; other schedulers ignore it (with a warning). */
  eta?: number;
  steps?: number;
  guidanceScale?: number;
  width?: number;
  height?: number;
  /** Scheduler name overriding the model's scheduler_config.json `_class_name`. */
  scheduler?: SchedulerName | string;
  /** Replaces the scheduler config's `timestep_spacing` (a preset's choice, e.g. `trailing` for one-step SD-Turbo). */
  timestepSpacing?: TimestepSpacing;
  signal?: AbortSignal;
  onStep?: (event: StepEvent) => void | Promise<void>;
  /** A tiny autoencoder decoder (TAESD): it decodes the live previews, and the final images when `finalDecoder` is 'tiny'. */
  tinyDecoder?: VaeDecoder;
  /** Which decoder makes the final images: 'vae' (default: the model's own) or 'tiny' (needs `tinyDecoder`). */
  finalDecoder?: DecoderKind;
  /** Live previews of x0 every `previewEvery` steps (default 1; not after the last step), decoded as step-preview.ts says. */
  onPreview?: PreviewCallback;
  previewEvery?: number;
  /** Asked before each live preview: false skips its decode (nobody watches). */
  previewWanted?: () => boolean;
  /** Receives non-fatal notes (e.g. unknown scheduler config keys). */
  warn?: (message: string) => void;
  /** Memory budget, UNet slices and VAE tiling (memory-plan.ts); default: no budget, no tiling. */
  memory?: MemoryOptions;
  /** Receives verbose notes: the UNet slice plan and the VAE tiling, one line each. */
  info?: (message: string) => void;
}

export interface TextToImageResult {
  /** `[k, 3, height, width]` in [-1, 1]. */
  images: FloatTensor;
  /** Final latents `[k, 4, height/8, width/8]`. */
  latents: FloatTensor;
  seeds: number[];
  /** The scheduler that ran: name, class, resolved config and the timesteps of the UNet calls. */
  scheduler: SchedulerRecord;
  /** The decoder that made `images`. */
  decoder: DecoderKind;
  /** ms per stage: encode, denoise, decode, and preview (decoding the live previews, not counted in denoise) when previews were made. */
  timings: { encode: number; denoise: number; decode: number; preview?: number };
  /** The UNet slices and the VAE tiling used. */
  memory: MemoryRecord;
}

export const DEFAULTS = { steps: 30, guidanceScale: 7.5, width: 512, height: 512, seed: 0 } as const;

/** Stage 1: validate the request; returns it with defaults filled. */
export function checkInputs(
  request: TextToImageRequest,
): Required<Pick<TextToImageRequest, 'steps' | 'guidanceScale' | 'width' | 'height' | 'eta'>> & { seeds: number[] } {
  const steps = request.steps ?? DEFAULTS.steps;
  const guidanceScale = request.guidanceScale ?? DEFAULTS.guidanceScale;
  const width = request.width ?? DEFAULTS.width;
  const height = request.height ?? DEFAULTS.height;
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS)
    throw new PmgError('invalid-argument', `steps must be an integer from 1 to ${MAX_STEPS}, got ${steps}`, { details: { field: 'steps' } });
  if (!Number.isFinite(guidanceScale) || guidanceScale < 0)
    throw new PmgError('invalid-argument', `guidance must be a number >= 0, got ${guidanceScale}`, { details: { field: 'guidance' } });
  for (const [name, value] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(value) || value < 8 || value > MAX_SIDE || value % 8 !== 0) {
      throw new PmgError('invalid-argument', `${name} must be a multiple of 8 from 8 to ${MAX_SIDE}, got ${value}`, { details: { field: name } });
    }
  }
  if (request.candidates.length === 0) throw new PmgError('invalid-argument', 'nothing to generate: give at least one prompt');
  request.candidates.forEach((c, i) => {
    for (const [field, prompt] of [
      ['prompt', c.prompt],
      ['negative prompt', c.negativePrompt],
    ] as const) {
      if (prompt !== undefined && promptLength(prompt) > MAX_PROMPT_CHARS) {
        throw new PmgError(
          'invalid-argument',
          `${field}${request.candidates.length > 1 ? ` ${i}` : ''} has ${promptLength(prompt)} characters; the limit is ${MAX_PROMPT_CHARS}`,
          { details: { field } },
        );
      }
    }
  });
  const base = request.seed ?? DEFAULTS.seed;
  const seeds = request.seeds ?? request.candidates.map((_, i) => base + i);
  if (seeds.length !== request.candidates.length)
    throw new PmgError('invalid-argument', `${seeds.length} seeds for ${request.candidates.length} candidates; give one seed per candidate`);
  for (const s of seeds)
    if (!Number.isSafeInteger(s) || s < 0)
      throw new PmgError('invalid-argument', `seed must be a non-negative integer, got ${s}`, { details: { field: 'seed' } });
  const eta = request.eta ?? 0;
  if (!Number.isFinite(eta) || eta < 0 || eta > 1)
    throw new PmgError('invalid-argument', `eta must be a number from 0 to 1, got ${eta}`, { details: { field: 'eta' } });
  const problem = request.latents && latentsProblem(request.latents, request.candidates.length, width, height);
  if (problem) throw new PmgError('invalid-argument', `the latents tensor ${problem}`, { details: { field: 'latents', shape: [...request.latents!.dims] } });
  return { steps, guidanceScale, width, height, eta, seeds };
}

/**
 * What is wrong with initial latents for `count` candidates (undefined: nothing): they must be
 * `[count or 1, 4, height/8, width/8]` of finite values. The text follows the name of the tensor or file.
 */
export function latentsProblem(latents: FloatTensor, count: number, width: number, height: number): string | undefined {
  const dims = latents.dims;
  const ok = dims.length === 4 && (dims[0] === count || dims[0] === 1) && dims[1] === 4 && dims[2] === height / 8 && dims[3] === width / 8;
  if (!ok || latents.data.length !== dims.reduce((a, b) => a * b, 1)) {
    return `has shape [${dims.join(', ')}]; expected [${count === 1 ? 1 : `${count} or 1`}, 4, ${height / 8}, ${width / 8}] (batch, channels, height/8, width/8)`;
  }
  const bad = latents.data.findIndex((v) => !Number.isFinite(v));
  return bad < 0 ? undefined : `holds ${latents.data[bad]} at index ${bad}; every value must be finite`;
}

/** Candidate i's rows of the latents (row 0 when one row is shared by all). */
function latentsRow(latents: FloatTensor, i: number): FloatTensor {
  const size = latents.data.length / latents.dims[0]!;
  const row = latents.dims[0] === 1 ? 0 : i;
  return { data: latents.data.subarray(row * size, (row + 1) * size), dims: [1, ...latents.dims.slice(1)] };
}

/**
 * A factory of fresh schedulers from the model's scheduler_config.json (optionally another algorithm), with the
 * Stable Diffusion pipeline fix-ups (sd-scheduler-config.ts). Config notes go to `warn` once, here.
 */
export function schedulerFactory(model: StableDiffusionModel, override?: SchedulerName | string, warn?: (message: string) => void): () => Scheduler {
  return sdPipelineScheduler(model.schedulerConfig, override, warn).create;
}

/** Stages 1-4: everything up to the denoising loop, as a resumable state. */
export async function prepareDenoise(model: StableDiffusionModel, request: TextToImageRequest): Promise<DenoiseState> {
  const checked = checkInputs(request); // 1
  const scheduler = sdPipelineScheduler(
    model.schedulerConfig,
    request.scheduler,
    request.warn,
    request.timestepSpacing ? { timestep_spacing: request.timestepSpacing } : {},
  );
  if (checked.eta > 0 && scheduler.name !== 'ddim') request.warn?.(`eta ${checked.eta} is used only by the DDIM scheduler; ignored for '${scheduler.name}'`);
  const conditioning = await encodeConditioning(model.textEncoder, request.candidates); // 2
  const latents = request.latents;
  const rows = request.candidates.length * (checked.guidanceScale > 1 ? 2 : 1);
  const slicePlan = planUnetMemory(model.unet, rows, checked.height / 8, checked.width / 8, request.memory, request.info);
  return new DenoiseState(
    // 3 (timesteps) + 4 (latents)
    {
      unet: model.unet,
      createScheduler: scheduler.create,
      steps: checked.steps,
      guidanceScale: checked.guidanceScale,
      width: checked.width,
      height: checked.height,
      eta: checked.eta,
      maxRowsPerCall: slicePlan.rowsPerCall,
      slicePlan,
    },
    conditioning.map((c, i) => ({ ...c, seed: checked.seeds[i]!, ...(latents ? { latents: latentsRow(latents, i) } : {}) })),
  );
}

export async function textToImage(model: StableDiffusionModel, request: TextToImageRequest): Promise<TextToImageResult> {
  const t0 = performance.now();
  const kind = request.finalDecoder ?? 'vae';
  const decoder = finalDecoderOf(model.vaeDecoder, request.tinyDecoder, kind);
  let previewMs: number | undefined;
  const preview = request.onPreview
    ? livePreviewHook({
        decoders: { vae: model.vaeDecoder, ...(request.tinyDecoder ? { tiny: request.tinyDecoder } : {}) },
        onPreview: request.onPreview,
        ...(request.previewEvery !== undefined ? { every: request.previewEvery } : {}),
        ...(request.previewWanted ? { wanted: request.previewWanted } : {}),
        signal: request.signal,
        onTime: (ms) => void (previewMs = (previewMs ?? 0) + ms),
      })
    : undefined;
  const onStep = preview
    ? async (event: StepEvent): Promise<void> => {
        await request.onStep?.(event);
        await preview(event);
      }
    : request.onStep;
  const state = await prepareDenoise(model, request);
  const t1 = performance.now();
  await state.run({ signal: request.signal, onStep }); // 5
  const t2 = performance.now();
  const latents = state.latents();
  // The VAE may decode in tiles under the memory budget; a tiny decoder is small enough to decode whole.
  const final = kind === 'vae' ? decoderForMemory(decoder, latents.dims[2]!, latents.dims[3]!, request.memory, request.info) : { decoder, plan: undefined };
  const images = await decodeLatents(final.decoder, latents, request.signal); // 6
  const ms = (a: number, b: number): number => Math.round((b - a) * 10) / 10;
  const timings = {
    encode: ms(t0, t1),
    denoise: ms(t1, t2 - (previewMs ?? 0)),
    decode: ms(t2, performance.now()),
    ...(previewMs !== undefined ? { preview: ms(0, previewMs) } : {}),
  };
  return { images, latents, seeds: state.seeds, scheduler: state.schedulerRecord, decoder: kind, timings, memory: { unet: state.slicePlan, vae: final.plan } };
}
