/**
 * What pmg records about a generated image: the JSON record (`txt2img --json` prints it; every PNG carries it in a
 * `pmg` text chunk) and the same facts in the A1111 `parameters` form, the text chunk image viewers and web UIs read:
 *
 *   <prompt>
 *   Negative prompt: <negative prompt>            (only when there is one)
 *   Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, Seed: 7, Size: 512x512, Model: <model>
 *
 * as AUTOMATIC1111's create_infotext writes it: `key: value` pairs joined with ", ", a value quoted as a JSON string
 * when it holds a comma, a colon or a newline; "Schedule type" only for Karras sigmas, "Eta" only when it is not 0,
 * "VAE" (A1111's key for a VAE other than the model's own) only when a tiny autoencoder decoded the image.
 */
import { packageVersion } from '../core/package-root.js';
import type { PngText } from '../core/png-text.js';
import { PmgError } from '../errors/pmg-error.js';
import type { DecoderKind } from '../spec/diffusion-models.js';
import type { Scheduler, SchedulerRecord } from '../spec/scheduler.js';
import type { MemoryRecord } from './memory-plan.js';

export type { SchedulerRecord };

/** Where initial latents came from when they were given instead of seeded noise. */
export interface LatentsSource {
  file: string;
  /** sha256 (hex) of the whole file. */
  sha256: string;
}

export interface ImageRecord {
  /** Position in the batch (candidate index for `pmg generate`); not in a PNG's own record. */
  index?: number;
  /** Seed of pmg's random source for this image: its initial noise unless `latents` is set, and a stochastic scheduler's noise. */
  seed: number;
  /** The initial latents came from this file (row `row` of its batch) instead of the seed. */
  latents?: LatentsSource & { row: number };
  /** The PNG file, when the writer knows it; not in a PNG's own record. */
  file?: string;
}

export interface DecoderRecord {
  kind: DecoderKind;
  /** The decoder's model: the SD model's id for 'vae', the tiny decoder's folder or hub id for 'tiny'. */
  model: string;
}

export interface GenerationRecord {
  generator: string;
  model: string;
  prompt: string;
  negativePrompt: string;
  /** Steps asked for (PNDM calls the UNet once more: see scheduler.timesteps). */
  steps: number;
  guidanceScale: number;
  width: number;
  height: number;
  /** DDIM's eta, when not 0. */
  eta?: number;
  scheduler: SchedulerRecord;
  /** Early search: this image is the predicted clean image after this many UNet calls, not a finished one. */
  previewAfterStep?: number;
  /** The decoder that turned the latents into this image: the model's VAE (`model` = the SD model) or a tiny autoencoder. */
  decoder?: DecoderRecord;
  /** The VAE decoded in overlapping tiles (diffusers' tiled_decode): tiled pixels differ slightly near the seams. */
  vaeTiles?: { tileSampleSize: number; tileLatentSize: number; overlapFactor: number };
  /** ms per stage. */
  timings?: Record<string, number>;
  /** The memory plan (UNet slices, VAE tiling); like timings, not in a PNG's own record: slices never change pixels. */
  memory?: MemoryRecord;
  images: ImageRecord[];
}

/**
 * The record of a scheduler that ran. Non-finite config values (DPM-Solver's lambda_min_clipped is -inf by default)
 * become the strings "-Infinity" / "Infinity", which JSON can hold and pmg's config parser reads back.
 */
export function schedulerRecordOf(scheduler: Scheduler, timesteps: readonly number[]): SchedulerRecord {
  const config = Object.fromEntries(Object.entries(scheduler.config).map(([k, v]) => [k, typeof v === 'number' && !Number.isFinite(v) ? String(v) : v]));
  return { name: scheduler.name, className: String(scheduler.config['_class_name']), config, timesteps: [...timesteps] };
}

/** A record stamped with the generator (pmg and its version). */
export function generationRecord(fields: Omit<GenerationRecord, 'generator'>): GenerationRecord {
  return { generator: `pmg ${packageVersion()}`, ...fields };
}

/** Image `index` of a batch: its seed, and the row of the latents it started from when they came from a file. */
export function imageRecord(index: number, seed: number, latents?: { dims: readonly number[] }, source?: LatentsSource): ImageRecord {
  if (!source) return { index, seed };
  return { index, seed, latents: { ...source, row: latents?.dims[0] === 1 ? 0 : index } };
}

/** A1111's sampler names for pmg's schedulers. */
export function a1111Sampler(scheduler: Pick<SchedulerRecord, 'name' | 'config'>): string {
  const c = scheduler.config;
  switch (scheduler.name) {
    case 'ddim':
      return 'DDIM';
    case 'ddpm':
      return 'DDPM';
    case 'pndm':
      return c['skip_prk_steps'] === false ? 'PNDM' : 'PLMS';
    case 'euler':
      return 'Euler';
    case 'euler-ancestral':
      return 'Euler a';
    case 'dpm-solver++':
      return `DPM++ ${typeof c['solver_order'] === 'number' ? c['solver_order'] : 2}M`;
    case 'lcm':
      return 'LCM';
  }
}

/** A1111's quote(): a JSON string when the value holds a comma, a colon or a newline. */
function quote(value: string | number): string {
  const text = String(value);
  return /[,:\n]/.test(text) ? JSON.stringify(text) : text;
}

/** The A1111 `parameters` text of one image of the record (default: its first). */
export function a1111Parameters(record: GenerationRecord, image: ImageRecord = record.images[0]!): string {
  const params: [string, string | number | undefined][] = [
    ['Steps', record.steps],
    ['Sampler', a1111Sampler(record.scheduler)],
    ['Schedule type', record.scheduler.config['use_karras_sigmas'] === true ? 'Karras' : undefined],
    ['CFG scale', record.guidanceScale],
    ['Seed', image.seed],
    ['Size', `${record.width}x${record.height}`],
    ['Model', record.model],
    ['Eta', record.eta ? record.eta : undefined],
    ['VAE', record.decoder?.kind === 'tiny' ? record.decoder.model : undefined],
  ];
  const text = params.flatMap(([key, value]) => (value === undefined ? [] : [`${key}: ${quote(value)}`])).join(', ');
  const negative = record.negativePrompt ? `\nNegative prompt: ${record.negativePrompt}` : '';
  return `${record.prompt}${negative}\n${text}`.trim();
}

/**
 * The two PNG text chunks of image `index` of the record: `parameters` (A1111) and `pmg` (the record with that image
 * only). Timings, file names and the position in the batch stay out, so an image is byte-identical whenever its
 * pixels and settings are: the same seed and flags, alone or in a batch, in one UNet call or in slices.
 */
export function generationPngTexts(record: GenerationRecord, index = 0): PngText[] {
  const image = record.images[index];
  if (!image) throw new PmgError('internal', `the generation record has no image ${index}`);
  const { timings: _timings, memory: _memory, ...rest } = record;
  const own = { ...rest, images: [{ seed: image.seed, ...(image.latents ? { latents: image.latents } : {}) }] };
  return [
    { keyword: 'parameters', text: a1111Parameters(own, image) },
    { keyword: 'pmg', text: JSON.stringify(own) },
  ];
}
