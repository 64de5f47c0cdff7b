/**
 * A generation job: what `pmg generate` expresses with its flags and files, as plain JSON data (no callbacks, no
 * model objects), and `checkGenerationJob`, the one validator every interface calls. Each wrong value is one
 * `PmgError('invalid-input')` whose `details.field` is the field path (`history.items[3].title`, `soft.weight`) and
 * whose one-line message starts with that path; interfaces map the path back to what supplied it (the CLI: a flag
 * or a file, cli/job-errors.ts). History and target go through the same validators and limits as the CLI's files
 * (personalize/inputs.ts, docs/keywords.md). Cross-field rules (soft module vs. method, target weight vs. mode) are
 * personalize's own `checkPersonalizeRequest`, run last.
 */
import { PmgError } from '../errors/pmg-error.js';
import { checkRemoteGeneratorSpec } from '../providers/image/remote-spec.js';
import { validateHistory, validateTarget } from '../personalize/inputs.js';
import { describe } from '../personalize/request-validation.js';
import {
  checkPersonalizeRequest,
  conditioningModes,
  personalizeMethods,
  searchStrategies,
  type PersonalizeMethod,
  type PersonalizeRequest,
  type SearchStrategy,
} from '../personalize/personalize-request.js';
import type { ConditioningMode } from '../personalize/conditioning.js';
import { promptStyleNames, type PromptStyleName } from '../personalize/prompt-styles.js';
import type { PreviewScale } from '../pipeline/latent-preview.js';
import { MAX_SIDE, MAX_STEPS } from '../pipeline/text-to-image.js';
import { scenes, type Scene } from '../spec/behaviour.js';
import { decoderKinds, type DecoderKind } from '../spec/diffusion-models.js';

/** The soft branch of a job as data: the module folder and the LLM body it was made for (a folder or hub id). */
export interface GenerationJobSoft {
  /** Soft module folder (soft_config.json + soft.safetensors); `--soft`. */
  module: string;
  /** The LLM body folder or hub id; `--llm-body` (default: the interface's, e.g. `<models>/llm-body`). */
  llmBody?: string;
  /** w_s, >= 0 (default 1); `--soft-weight`. */
  weight?: number;
  /** `--allow-llm-mismatch`. */
  allowLlmMismatch?: boolean;
}

/** The plain-data fields a job shares with personalize's request (their meaning and defaults are documented there). */
export type JobRequestFields =
  | 'scene'
  | 'history'
  | 'target'
  | 'method'
  | 'alpha'
  | 'mode'
  | 'weights'
  | 'targetWeight'
  | 'search'
  | 'earlyFraction'
  | 'earlyKeep'
  | 'previewScale'
  | 'steps'
  | 'guidance'
  | 'seed'
  | 'width'
  | 'height'
  | 'scheduler'
  | 'promptStyle'
  | 'finalDecoder';

/** One generation job: the data of `pmg generate` (docs/generate.md "Generation jobs"). */
export type GenerationJob = Pick<PersonalizeRequest, JobRequestFields> & {
  /** A tiny decoder folder or hub id (`--decoder`; a model choice, not a request field). */
  decoder?: string;
  /**
   * A remote image generator (`a1111:http://host:port`, `comfyui:http://host:port[#ckpt=…]`; `--generator`) instead
   * of the model set's Stable Diffusion model. Only interfaces that load their own model set per job take it (`pmg
   * generate`); the others refuse it (checkGenerationJob's `allowGenerator`).
   */
  generator?: string;
  soft?: GenerationJobSoft;
};

/** Every field of a job, in documentation order. */
export const jobKeys = [
  'scene',
  'history',
  'target',
  'method',
  'alpha',
  'mode',
  'weights',
  'targetWeight',
  'search',
  'earlyFraction',
  'earlyKeep',
  'previewScale',
  'steps',
  'guidance',
  'seed',
  'width',
  'height',
  'scheduler',
  'promptStyle',
  'decoder',
  'finalDecoder',
  'generator',
  'soft',
] as const;
const softKeys = ['module', 'llmBody', 'weight', 'allowLlmMismatch'] as const;

/**
 * The job, checked and normalized (history/target as personalize wants them); throws on the first wrong field.
 * `allowGenerator`: the caller can run a job's own remote `generator` (default false: the field is refused, e.g. by
 * the service, which runs every job on its own model set).
 */
export function checkGenerationJob(value: unknown, options: { allowGenerator?: boolean } = {}): GenerationJob {
  const r = object(value, '', 'a generation job must be an object with scene, history and target');
  unknownKeys(r, jobKeys, '');
  const scene = oneOf(r.scene, 'scene', scenes, true) as Scene;
  if (r.history === undefined) throw invalid('history', 'history is missing; give { "items": [...] } (and/or a "conversation")');
  if (r.target === undefined) throw invalid('target', 'target is missing; give { "item": {...} } (stickers: { "conversation": [...] })');
  const job: GenerationJob = {
    scene,
    history: validateHistory(r.history, '', undefined, 'history'),
    target: validateTarget(r.target, '', undefined, 'target'),
  };
  const set = <K extends keyof GenerationJob>(key: K, v: GenerationJob[K] | undefined): void => {
    if (v !== undefined) job[key] = v;
  };
  set('method', oneOf(r.method, 'method', personalizeMethods) as PersonalizeMethod | undefined);
  set('alpha', num(r.alpha, 'alpha', { min: 0, max: 1 }));
  set('mode', oneOf(r.mode, 'mode', conditioningModes) as ConditioningMode | undefined);
  if (r.weights !== undefined) {
    if (!Array.isArray(r.weights) || r.weights.length === 0)
      throw invalid('weights', `weights must be a non-empty list of numbers >= 0, got ${describe(r.weights)}`);
    job.weights = r.weights.map((w, i) => num(w, `weights[${i}]`, { min: 0 })!);
  }
  set('targetWeight', num(r.targetWeight, 'targetWeight', { min: 0 }));
  set('search', oneOf(r.search, 'search', searchStrategies) as SearchStrategy | undefined);
  set('earlyFraction', num(r.earlyFraction, 'earlyFraction', { min: 0, max: 1, exclusive: true }));
  set('earlyKeep', num(r.earlyKeep, 'earlyKeep', { min: 1, integer: true }));
  set('previewScale', oneOf(r.previewScale, 'previewScale', [1, 2, 4]) as PreviewScale | undefined);
  set('steps', num(r.steps, 'steps', { min: 1, max: MAX_STEPS, integer: true }));
  set('guidance', num(r.guidance, 'guidance', {}));
  set('seed', num(r.seed, 'seed', { min: 0, integer: true }));
  for (const side of ['width', 'height'] as const) {
    const v = r[side];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 8 || v > MAX_SIDE || v % 8 !== 0))
      throw invalid(side, `${side} must be a multiple of 8 from 8 to ${MAX_SIDE}, got ${describe(v)}`);
    set(side, v as number | undefined);
  }
  set('scheduler', text(r.scheduler, 'scheduler'));
  set('promptStyle', oneOf(r.promptStyle, 'promptStyle', promptStyleNames) as PromptStyleName | undefined);
  set('decoder', text(r.decoder, 'decoder'));
  set('finalDecoder', oneOf(r.finalDecoder, 'finalDecoder', decoderKinds) as DecoderKind | undefined);
  if (r.soft !== undefined) {
    const s = object(r.soft, 'soft', 'soft must be an object with "module" (and "llmBody", "weight", "allowLlmMismatch")');
    unknownKeys(s, softKeys, 'soft');
    const soft: GenerationJobSoft = { module: text(s.module, 'soft.module', true)! };
    const llmBody = text(s.llmBody, 'soft.llmBody');
    if (llmBody !== undefined) soft.llmBody = llmBody;
    const weight = num(s.weight, 'soft.weight', { min: 0 });
    if (weight !== undefined) soft.weight = weight;
    if (s.allowLlmMismatch !== undefined) {
      if (typeof s.allowLlmMismatch !== 'boolean')
        throw invalid('soft.allowLlmMismatch', `soft.allowLlmMismatch must be true or false, got ${describe(s.allowLlmMismatch)}`);
      soft.allowLlmMismatch = s.allowLlmMismatch;
    }
    job.soft = soft;
  }
  if (r.generator !== undefined) {
    const spec = text(r.generator, 'generator')!;
    if (!options.allowGenerator)
      throw invalid('generator', 'generator: this interface runs every job on its own model set; run remote generators with pmg generate --generator');
    try {
      job.generator = checkRemoteGeneratorSpec(spec);
    } catch (error) {
      throw error instanceof PmgError ? invalid('generator', error.message) : error;
    }
  }
  // The rules between fields (personalize's own), with the field they are about.
  try {
    const { soft, ...data } = job;
    checkPersonalizeRequest({ ...data, ...(soft ? { soft: { weight: soft.weight ?? 1 } } : {}) });
  } catch (error) {
    if (error instanceof PmgError && error.code === 'invalid-argument') {
      const field = typeof error.details.field === 'string' ? error.details.field : crossField(error.message);
      // Messages that name their field first (`targetWeight 2 needs ...`) keep their words; others get the path in front.
      const message = new RegExp(`^${field}[\\s:]`).test(error.message) ? error.message : `${field}: ${error.message}`;
      throw new PmgError('invalid-input', message, { cause: error, details: { ...error.details, field } });
    }
    throw error;
  }
  return job;
}

/** The field a cross-field rule of checkPersonalizeRequest is about, from its message (they do not all carry one). */
function crossField(message: string): string {
  if (/target weight/.test(message)) return 'targetWeight';
  if (/^weights are only/.test(message)) return 'weights';
  return 'method';
}

function object(value: unknown, field: string, message: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(field, `${message}, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

function unknownKeys(r: Record<string, unknown>, known: readonly string[], root: string): void {
  for (const key of Object.keys(r)) {
    if (!known.includes(key))
      throw invalid(root ? `${root}.${key}` : key, `${root ? `${root}.${key}` : key} is not a field of a generation job; known: ${known.join(', ')}`);
  }
}

function oneOf<T>(value: unknown, field: string, allowed: readonly T[], required = false): T | undefined {
  if (value === undefined && !required) return undefined;
  if (!allowed.includes(value as T)) throw invalid(field, `${field} must be one of ${allowed.join(', ')}, got ${describe(value)}`);
  return value as T;
}

function num(value: unknown, field: string, range: { min?: number; max?: number; exclusive?: boolean; integer?: boolean }): number | undefined {
  if (value === undefined) return undefined;
  const { min, max, exclusive, integer } = range;
  const bounds =
    min !== undefined && max !== undefined ? ` between ${min} and ${max}${exclusive ? ' (exclusive)' : ''}` : min !== undefined ? ` >= ${min}` : '';
  const what = `${field} must be ${integer ? 'a whole number' : 'a number'}${bounds}, got ${describe(value)}`;
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isSafeInteger(value))) throw invalid(field, what);
  if (min !== undefined && (exclusive ? value <= min : value < min)) throw invalid(field, what);
  if (max !== undefined && (exclusive ? value >= max : value > max)) throw invalid(field, what);
  return value;
}

function text(value: unknown, field: string, required = false): string | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw invalid(field, `${field} must be a non-empty string, got ${describe(value)}`);
  return value;
}

function invalid(field: string, message: string): PmgError {
  return new PmgError('invalid-input', message, { details: field ? { field } : {} });
}
