/**
 * A personalization request and what comes back (personalize.ts runs it): the request's fields, the result's
 * (result.json is its on-disk form, result-files.ts), and `checkPersonalizeRequest`, which checks every field and
 * fills the defaults before any model runs.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { LatentsSource } from '../pipeline/generation-record.js';
import { checkPreviewScale, type PreviewScale } from '../pipeline/latent-preview.js';
import type { MemoryOptions, MemoryRecord } from '../pipeline/memory-plan.js';
import { checkPreviewEvery, type PreviewCallback } from '../pipeline/step-preview.js';
import { DEFAULTS } from '../pipeline/text-to-image.js';
import { DEFAULT_ALPHA, checkAlpha, type CandidateWeights } from '../scoring/selection.js';
import type { History, Scene, Target } from '../spec/behaviour.js';
import { decoderKinds, type DecoderKind } from '../spec/diffusion-models.js';
import type { FloatTensor } from '../spec/tensor.js';
import { defaultEmbedWeights, defaultRepeatWeights, type ConditioningMode } from './conditioning.js';
import type { KeywordResult, KeywordVariant } from './extract-keywords.js';
import type { KeywordCache } from './keyword-cache.js';
import type { ModelPreset } from './presets.js';
import { DEFAULT_PROMPT_STYLE, promptStyle, type PromptStyleName } from './prompt-styles.js';
import { validateRequestShape } from './request-validation.js';
import type { CaptionImage } from './verbalize.js';

export type PersonalizeMethod = 'pmg' | 'keywords' | 'target-only';
export type SearchStrategy = 'exhaustive' | 'early';
export const personalizeMethods: readonly PersonalizeMethod[] = ['pmg', 'keywords', 'target-only'];
export const conditioningModes: readonly ConditioningMode[] = ['repeat', 'embed'];
export const searchStrategies: readonly SearchStrategy[] = ['exhaustive', 'early'];
export const DEFAULT_EARLY_FRACTION = 0.4;
export const DEFAULT_EARLY_KEEP = 1;

export interface ProgressEvent {
  stage: 'keywords' | 'generate' | 'score' | 'decode';
  step?: number;
  total?: number;
  message?: string;
}

export interface PersonalizeRequest {
  scene: Scene;
  history: History;
  target: Target;
  /** Default 'pmg'; 'target-only' = target keywords only; 'keywords' = preference keywords at ONE fixed weight, no search. */
  method?: PersonalizeMethod;
  /** Default 2/3. */
  alpha?: number;
  /** 'repeat' (default) | 'embed'. */
  mode?: ConditioningMode;
  /** Preference weights w_p, one candidate each. Default per scene (conditioning.ts). */
  weights?: number[];
  /** w_t, the factor of the target part's embeddings (`embed` mode only; default 1). */
  targetWeight?: number;
  /** For method 'keywords' (default: the scene's first default weight). */
  fixedWeight?: number;
  search?: SearchStrategy;
  earlyFraction?: number;
  earlyKeep?: number;
  /**
   * Previews (early search, live): x0 latents are average-pooled s x s before the preview decode (1, 2 or 4; default
   * 2 with the VAE, 1 with a tiny decoder).
   */
  previewScale?: PreviewScale;
  /** Which decoder makes the final images: 'vae' or 'tiny' (needs the model set's tiny decoder). Default: the model set's. */
  finalDecoder?: DecoderKind;
  /** Live previews: x0 of the running candidates, decoded every `previewEvery` steps (default 1; not after the last step). */
  onPreview?: PreviewCallback;
  previewEvery?: number;
  steps?: number;
  guidance?: number;
  seed?: number;
  width?: number;
  height?: number;
  scheduler?: string;
  /**
   * Initial latents `[1, 4, height/8, width/8]` (every candidate starts from them) or one row per candidate,
   * instead of the seed's noise (scaled by the scheduler's init_noise_sigma, as diffusers does); `latentsSource`
   * says where they came from (recorded in settings and in every PNG).
   */
  latents?: FloatTensor;
  latentsSource?: LatentsSource;
  /** Memory budget, UNet slices and VAE tiling (pipeline/memory-plan.ts); default: no budget, no tiling. */
  memory?: MemoryOptions;
  negative?: string;
  /** The scenes' negative prompts and sticker prefix (prompt-styles.ts); default: the preset's, else 'pmg'. */
  promptStyle?: PromptStyleName;
  /** Precomputed keywords (skip the LLM). */
  keywords?: KeywordResult;
  keywordOptions?: { count?: number; variant?: KeywordVariant; promptsDir?: string; cache?: KeywordCache; captioner?: CaptionImage };
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  warn?: (message: string) => void;
  /** Receives verbose notes: the UNet slice plan and the VAE tiling, one line each. */
  info?: (message: string) => void;
}

export interface PersonalizeCandidate {
  weights: CandidateWeights;
  prompt: string;
  negative: string;
  seed: number;
  dp: number;
  dt: number;
  z: number;
  png: Buffer;
  /** False for candidates stopped early by `early` search (their png is the preview). */
  finished: boolean;
  /** The decoder that made the png: the final decoder, or the preview's for a candidate stopped early. */
  decoder: DecoderKind;
}

export interface PersonalizeSettings {
  steps: number;
  guidance: number;
  width: number;
  height: number;
  seed: number;
  scheduler?: string;
  earlyFraction?: number;
  earlyKeep?: number;
  /** Early search: the requested preview scale, and the one used (lowered so the pooled latent stays >= 8x8). */
  previewScale?: PreviewScale;
  previewScaleUsed?: PreviewScale;
  /** The decoder of the final images. */
  finalDecoder: DecoderKind;
  /** The decoder of the previews (early search or live), when any were made. */
  previewDecoder?: DecoderKind;
  /** Steps run before the early choice (early search only). */
  earlySteps?: number;
  /** The negative prompts and sticker prefix used (prompt-styles.ts). */
  promptStyle: PromptStyleName;
  /** The initial latents came from this file instead of the seed. */
  latents?: LatentsSource;
  /** The UNet slices and the VAE tiling of the final decode, when the request had memory options. */
  memory?: MemoryRecord;
}

export interface PersonalizeResult {
  scene: Scene;
  method: PersonalizeMethod;
  alpha: number;
  mode: ConditioningMode;
  search: SearchStrategy;
  keywords: { preference: string[]; target: string[]; prompts: Record<string, string>; raw: Record<string, string>; model: string; cached: boolean };
  candidates: PersonalizeCandidate[];
  /** The texts d_t and d_p were scored against, so anyone can recompute them. */
  scoring: { targetText: string; preferenceText: string };
  chosen: number;
  /** ms per stage: keywords, encode, denoise, decode, score, total. */
  timings: Record<string, number>;
  /** The generation settings used (defaults filled). */
  settings: PersonalizeSettings;
}

/** Checked request fields with defaults filled (everything cheap, before any model runs). */
export function checkPersonalizeRequest(request: PersonalizeRequest, preset?: ModelPreset) {
  const { history, target } = validateRequestShape(request);
  const method = request.method ?? 'pmg';
  if (!personalizeMethods.includes(method)) throw new PmgError('invalid-argument', `unknown method '${method}'; use ${personalizeMethods.join(', ')}`);
  const mode = request.mode ?? 'repeat';
  if (!conditioningModes.includes(mode)) throw new PmgError('invalid-argument', `unknown mode '${mode}'; use --mode ${conditioningModes.join('|')}`);
  const search = request.search ?? 'exhaustive';
  if (!searchStrategies.includes(search)) throw new PmgError('invalid-argument', `unknown search '${search}'; use --search ${searchStrategies.join('|')}`);
  const alpha = checkAlpha(request.alpha ?? DEFAULT_ALPHA);
  const earlyFraction = request.earlyFraction ?? DEFAULT_EARLY_FRACTION;
  if (!Number.isFinite(earlyFraction) || earlyFraction <= 0 || earlyFraction >= 1) {
    throw new PmgError('invalid-argument', `early fraction must be a number between 0 and 1 (exclusive), got ${earlyFraction}`);
  }
  const earlyKeep = request.earlyKeep ?? DEFAULT_EARLY_KEEP;
  if (!Number.isInteger(earlyKeep) || earlyKeep < 1) throw new PmgError('invalid-argument', `early keep must be a whole number >= 1, got ${earlyKeep}`);
  const previewScale = request.previewScale === undefined ? undefined : checkPreviewScale(request.previewScale, 'preview scale (--preview-scale)');
  const finalDecoder = request.finalDecoder;
  if (finalDecoder !== undefined && !decoderKinds.includes(finalDecoder)) {
    throw new PmgError('invalid-argument', `final decoder (--final-decoder) must be ${decoderKinds.join(' or ')}, got '${String(finalDecoder)}'`, { details: { field: 'finalDecoder' } });
  }
  if (request.previewEvery !== undefined) checkPreviewEvery(request.previewEvery, 'preview every (--preview-every)');
  const targetWeight = request.targetWeight ?? 1;
  if (!Number.isFinite(targetWeight) || targetWeight < 0) throw new PmgError('invalid-argument', `target weight (--target-weight) must be a number >= 0, got ${targetWeight}`);
  if (mode === 'repeat' && targetWeight !== 1) {
    throw new PmgError('invalid-argument', `target weight (--target-weight) ${targetWeight} needs --mode embed: in repeat mode the target keywords are written once (weight 1) and only the preference keywords are repeated`);
  }
  const seed = request.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new PmgError('invalid-argument', `seed must be a non-negative integer, got ${seed}`);
  const steps = request.steps ?? preset?.steps ?? DEFAULTS.steps;
  const guidance = request.guidance ?? preset?.guidance ?? DEFAULTS.guidanceScale;
  const width = request.width ?? preset?.width ?? DEFAULTS.width;
  const height = request.height ?? preset?.height ?? DEFAULTS.height;
  const scheduler = request.scheduler ?? preset?.scheduler;
  const timestepSpacing = preset?.timestepSpacing;
  const style = promptStyle(request.promptStyle ?? preset?.promptStyle ?? DEFAULT_PROMPT_STYLE);
  const defaults = mode === 'repeat' ? defaultRepeatWeights[request.scene] : defaultEmbedWeights;
  let weights: number[];
  if (method === 'pmg') weights = request.weights ?? defaults;
  else if (method === 'keywords') weights = [request.fixedWeight ?? defaults[0]!];
  else weights = [0];
  if (request.weights && method !== 'pmg') throw new PmgError('invalid-argument', `weights are only used by method 'pmg' (method '${method}' generates one candidate)`);
  return { history, target, method, mode, search, alpha, earlyFraction, earlyKeep, previewScale, finalDecoder, targetWeight, seed, steps, guidance, width, height, scheduler, timestepSpacing, weights, style };
}
