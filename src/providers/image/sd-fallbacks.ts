/**
 * What a Stable Diffusion ONNX export may leave out, and what is used instead: some hub exports ship
 * text_encoder/, unet/ and vae_decoder/ but no tokenizer/ or scheduler/. Then the base model's tokenizer
 * is fetched (through the loader's ModelResolver, i.e. the model store) and a built-in scheduler config
 * of the model family is used. Each fallback is reported through `warn` in one line.
 *
 * Family: SD 1.x when the text encoder is 768 wide (CLIP ViT-L/14), SD 2.x when 1024 wide (OpenCLIP ViT-H).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PmgError } from '../../errors/pmg-error.js';
import { ClipTokenizer } from '../../runtime/clip-tokenizer.js';
import type { OnnxSession } from '../../runtime/onnx-session.js';
import { readOptionalJson } from './sd-layout.js';

export type SdFamily = 'sd1' | 'sd2';
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';

/** Turns a folder path or hub id into a local folder holding (at least) `files`. */
export type ModelResolver = (
  spec: string,
  files: readonly string[],
  optionalFiles: readonly string[],
  /**
   * 'model': the SD model itself (a resolver may fetch whole folders); 'tokenizer': only the listed files;
   * 'decoder': a tiny autoencoder decoder in either of its layouts (TINY_DECODER_INCLUDE in tiny-decoder.ts).
   */
  purpose?: 'model' | 'tokenizer' | 'decoder',
) => Promise<{
  dir: string;
  id: string;
  /** The folder is pmg's own copy in the model cache (a hub model), so pmg may add files beside it (fp32 copies). */
  cached?: boolean;
}>;

/**
 * Where the base tokenizers live. SD 1.x was trained with OpenAI's CLIP ViT-L/14 text tower, whose
 * tokenizer files sit at the repo's top level (pad = end token). SD 2.x uses OpenCLIP ViT-H/14, whose
 * tokenizer ships in Stability's own repo under tokenizer/ (pad = "!").
 */
export const SD1_BASE_TOKENIZER = 'openai/clip-vit-large-patch14';
export const SD2_BASE_TOKENIZER = 'stabilityai/stable-diffusion-2-1';

const TOKENIZER_FILES = ['vocab.json', 'merges.txt'] as const;
const TOKENIZER_CONFIG_FILES = ['tokenizer_config.json', 'special_tokens_map.json'] as const;

/** The files of the two known base tokenizers (all four are required: the pad token comes from the configs). */
const KNOWN_BASES: Record<string, { folder: string }> = {
  [SD1_BASE_TOKENIZER]: { folder: '' },
  [SD2_BASE_TOKENIZER]: { folder: 'tokenizer' },
};

export function baseTokenizerId(family: SdFamily): string {
  return family === 'sd2' ? SD2_BASE_TOKENIZER : SD1_BASE_TOKENIZER;
}

/** The model's own tokenizer/ files that are missing (empty when it has a tokenizer). */
export function missingTokenizerFiles(dir: string): string[] {
  return TOKENIZER_FILES.map((name) => `tokenizer/${name}`).filter((file) => !existsSync(join(dir, file)));
}

export interface FallbackContext {
  /** The model's folder and its name for messages. */
  dir: string;
  id: string;
  family: SdFamily;
  /** Width of the text encoder (says why the family was chosen). */
  hiddenSize: number;
  resolve: ModelResolver;
  warn: (message: string) => void;
}

/**
 * The base model's CLIP tokenizer, for a model without tokenizer/. `override` (a folder or hub id) replaces
 * the family's base; it may hold vocab.json and merges.txt at its top level or under tokenizer/.
 * Offline-mode and download errors of the resolver propagate unchanged.
 */
export async function loadBaseTokenizer(context: FallbackContext, missing: readonly string[], override?: string): Promise<ClipTokenizer> {
  const spec = override ?? baseTokenizerId(context.family);
  const { dir, id, folder } = await resolveTokenizerFolder(spec, context.resolve);
  const tokenizer = ClipTokenizer.fromFolder(join(dir, folder), `base tokenizer ${id}`);
  checkVocabularyFits(tokenizer, context, id);
  const source = override
    ? `the tokenizer given as baseTokenizer, ${id}${folder ? ` (${folder}/)` : ''}`
    : `the SD ${context.family === 'sd2' ? '2' : '1'}.x base tokenizer of ${id}${folder ? ` (${folder}/)` : ''}, chosen from the ${context.hiddenSize}-wide text encoder`;
  context.warn(`model ${context.id} lacks ${missing.join(' and ')}; using ${source} instead`);
  return tokenizer;
}

async function resolveTokenizerFolder(spec: string, resolve: ModelResolver): Promise<{ dir: string; id: string; folder: string }> {
  const known = KNOWN_BASES[spec.replace(/@main$/, '')];
  if (known) {
    const inFolder = (name: string): string => (known.folder ? `${known.folder}/${name}` : name);
    const resolved = await resolve(spec, [...TOKENIZER_FILES, ...TOKENIZER_CONFIG_FILES].map(inFolder), [], 'tokenizer');
    return { ...resolved, folder: known.folder };
  }
  // Any other folder or repo: the top level or tokenizer/, whichever has the files.
  const both = ['', 'tokenizer/'].flatMap((prefix) => [...TOKENIZER_FILES, ...TOKENIZER_CONFIG_FILES].map((name) => prefix + name));
  const resolved = await resolve(spec, [], both, 'tokenizer');
  for (const folder of ['', 'tokenizer']) {
    if (TOKENIZER_FILES.every((name) => existsSync(join(resolved.dir, folder, name)))) return { ...resolved, folder };
  }
  // Neither: ask for the top-level files, so the resolver names them (or its offline error says how to fetch them).
  const strict = await resolve(spec, [...TOKENIZER_FILES], [...TOKENIZER_CONFIG_FILES], 'tokenizer');
  if (TOKENIZER_FILES.every((name) => existsSync(join(strict.dir, name)))) return { ...strict, folder: '' };
  throw new PmgError(
    'model-file-missing',
    `base tokenizer ${strict.id} has no vocab.json and merges.txt at its top level or under tokenizer/ (in ${strict.dir})`,
    {
      details: { dir: strict.dir },
    },
  );
}

/** A tokenizer with more ids than the text encoder's embedding table would index past it. */
function checkVocabularyFits(tokenizer: ClipTokenizer, context: FallbackContext, id: string): void {
  const config = readOptionalJson([join(context.dir, 'text_encoder', 'config.json')], `model ${context.id}`)?.value;
  const size = config?.vocab_size;
  if (typeof size === 'number' && tokenizer.vocabSize > size) {
    throw new PmgError(
      'model-layout',
      `base tokenizer ${id} has ${tokenizer.vocabSize} tokens but model ${context.id}'s text encoder knows ${size} (text_encoder/config.json vocab_size); give a matching tokenizer with the baseTokenizer option`,
      { details: { tokenizer: id, vocabSize: tokenizer.vocabSize, textEncoderVocabSize: size } },
    );
  }
}

const NOISE_SCHEDULE = {
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  num_train_timesteps: 1000,
  trained_betas: null,
  steps_offset: 1,
} as const;

/** Built-in scheduler config of SD 1.x (as stable-diffusion-v1-5 ships it). */
export function sd1SchedulerConfig(predictionType: PredictionType = 'epsilon'): Record<string, unknown> {
  return {
    _class_name: 'PNDMScheduler',
    ...NOISE_SCHEDULE,
    skip_prk_steps: true,
    set_alpha_to_one: false,
    clip_sample: false,
    prediction_type: predictionType,
  };
}

/**
 * Built-in scheduler config of SD 2.x: EulerDiscreteScheduler as stabilityai/stable-diffusion-2 ships it
 * (clip_sample false, set_alpha_to_one false, skip_prk_steps true, steps_offset 1). That file names no
 * timestep_spacing, so diffusers uses EulerDiscreteScheduler's default, 'linspace'; it is written out here.
 */
export function sd2SchedulerConfig(predictionType: PredictionType): Record<string, unknown> {
  return {
    _class_name: 'EulerDiscreteScheduler',
    ...NOISE_SCHEDULE,
    clip_sample: false,
    set_alpha_to_one: false,
    skip_prk_steps: true,
    timestep_spacing: 'linspace',
    interpolation_type: 'linear',
    use_karras_sigmas: false,
    prediction_type: predictionType,
  };
}

/**
 * The prediction type of a model without scheduler_config.json:
 * 1. `prediction_type` in unet/config.json, else in model_index.json, when either has one;
 * 2. SD 1.x: epsilon;
 * 3. SD 2.x: v_prediction when the UNet's sample_size (unet/config.json, else the fixed height of its
 *    `sample` input) is 96 or more (the 768-px models), else epsilon (the 512-px models, sample_size 64,
 *    and models whose size is unknown).
 */
export function fallbackPredictionType(dir: string, id: string, family: SdFamily, unet: OnnxSession): { value: PredictionType; reason: string } {
  const unetConfig = readOptionalJson([join(dir, 'unet', 'config.json')], `model ${id}`)?.value;
  const index = readOptionalJson([join(dir, 'model_index.json')], `model ${id}`)?.value;
  for (const [where, config] of [
    ['unet/config.json', unetConfig],
    ['model_index.json', index],
  ] as const) {
    const declared = config?.prediction_type;
    if (declared !== undefined && declared !== null) return { value: parsePredictionType(declared, id, where), reason: `from ${where}` };
  }
  if (family === 'sd1') return { value: 'epsilon', reason: 'SD 1.x' };
  const fromConfig = typeof unetConfig?.sample_size === 'number' ? { size: unetConfig.sample_size, where: 'unet/config.json sample_size' } : undefined;
  const height = unet.inputInfo('sample')?.shape?.[2];
  const size = fromConfig ?? (typeof height === 'number' && height > 0 ? { size: height, where: 'the UNet sample height' } : undefined);
  if (!size) return { value: 'epsilon', reason: 'SD 2.x of unknown sample size' };
  return { value: size.size >= 96 ? 'v_prediction' : 'epsilon', reason: `${size.where} ${size.size}` };
}

/** The built-in scheduler config for a model without scheduler/scheduler_config.json; warns once. */
export function fallbackSchedulerConfig(context: Pick<FallbackContext, 'dir' | 'id' | 'family' | 'warn'>, unet: OnnxSession): Record<string, unknown> {
  const prediction = fallbackPredictionType(context.dir, context.id, context.family, unet);
  const config = context.family === 'sd2' ? sd2SchedulerConfig(prediction.value) : sd1SchedulerConfig(prediction.value);
  context.warn(
    `model ${context.id} lacks scheduler/scheduler_config.json; using a built-in SD ${context.family === 'sd2' ? '2' : '1'}.x config instead: ${String(config._class_name)}, prediction_type ${prediction.value} (${prediction.reason})`,
  );
  return config;
}

export function parsePredictionType(value: unknown, id: string, where = 'scheduler_config.json'): PredictionType {
  if (value === undefined || value === null) return 'epsilon';
  if (value === 'epsilon' || value === 'v_prediction' || value === 'sample') return value;
  throw new PmgError('invalid-input', `model ${id}: ${where} has prediction_type ${JSON.stringify(value)}; expected epsilon, v_prediction or sample`);
}
