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
import type { ModelPreset } from '../providers/presets.js';
import { DEFAULT_PROMPT_STYLE, promptStyle, type PromptStyleName } from './prompt-styles.js';
import { validateRequestShape } from './request-validation.js';
import type { CaptionImage } from './verbalize.js';
import type { SoftCache } from '../soft/soft-cache.js';
import type { SoftModule } from '../soft/soft-module.js';
import type { LlmBody } from '../spec/llm-body.js';

/**
 * 'target-only': the target part alone (no personalization); 'keywords': preference keywords at one fixed weight;
 * 'soft': the target part plus the soft preference tokens (no preference keywords; needs `soft`); 'pmg': the weights
 * searched, plus the soft tokens when `soft` is given.
 */
export type PersonalizeMethod = 'pmg' | 'keywords' | 'target-only' | 'soft';
export const personalizeMethods: readonly PersonalizeMethod[] = ['pmg', 'keywords', 'target-only', 'soft'];
/** Methods that use a soft module (the others refuse one). */
export const softMethods: readonly PersonalizeMethod[] = ['soft', 'pmg'];
export const conditioningModes: readonly ConditioningMode[] = ['repeat', 'embed'];
import { searchStrategies, type SearchStrategy } from '../scoring/ranking.js';
export { searchStrategies, type SearchStrategy };
export const DEFAULT_EARLY_FRACTION = 0.4;
export const DEFAULT_EARLY_KEEP = 1;

export interface ProgressEvent {
  stage: 'keywords' | 'soft' | 'generate' | 'score' | 'decode';
  step?: number;
  total?: number;
  message?: string;
  /** Once the keywords are known (stage 'keywords', no message): the LLM's answer, so a UI shows it before the images. */
  keywords?: KeywordResult;
  /** Once the soft tokens are computed (stage 'soft', no message): N and whether they came from the cache. */
  soft?: { N: number; cached: boolean };
}

/**
 * The soft preference branch of a request (docs/soft.md): a module (soft/soft-module.ts `readSoftModule`), the LLM
 * body it was made for, and w_s. The soft tokens are computed once per request (or taken from `cache`) and appended,
 * times w_s, to every candidate's context; the unconditional half gets N copies of its own last token.
 */
export interface SoftRequest {
  module: SoftModule;
  body: LlmBody;
  /** w_s, the factor of the soft tokens (default 1, >= 0). */
  weight?: number;
  /** Reuse tokens computed before (same LLM, module, template and history). */
  cache?: SoftCache;
  /** Use a module whose LLM fingerprint differs from the body's (same shape), with a warning. */
  allowLlmMismatch?: boolean;
}

/** What result.json records of the soft branch. */
export interface SoftRecord {
  /** The module's folder, its fingerprint (sha256 of soft.safetensors), P, N, and the w_s used. */
  module: string;
  fingerprint: string;
  P: number;
  N: number;
  weight: number;
  /** The LLM body that computed the tokens. */
  llm: { id: string; fingerprint: string };
  template: { name: string; version: string };
  /** The soft prompt the LLM read and its token count. */
  prompt: string;
  promptTokens: number;
  /** True when the tokens came from the cache. */
  cached: boolean;
}

export interface PersonalizeRequest {
  scene: Scene;
  history: History;
  target: Target;
  /**
   * Default 'pmg'; 'target-only' = target keywords only; 'keywords' = preference keywords at ONE fixed weight, no search;
   * 'soft' = target keywords + the soft tokens (needs `soft`).
   */
  method?: PersonalizeMethod;
  /** The soft preference branch (methods 'soft' and 'pmg'). */
  soft?: SoftRequest;
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
  /** Asked before each live preview: false skips its decode (a server with nobody watching the job). */
  previewWanted?: () => boolean;
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
  /** Tokens of the generator's context (conditional half): the text windows, plus N soft tokens when the soft branch ran. */
  contextTokens: number;
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
  /** ms per stage: keywords, soft (when the soft branch ran), encode, denoise, decode, score, total. */
  timings: Record<string, number>;
  /** The generation settings used (defaults filled). */
  settings: PersonalizeSettings;
  /** The soft branch, when it ran. */
  soft?: SoftRecord;
}

/** A request whose soft branch may still lack its module and body (the CLI checks flags before it opens them). */
export type PersonalizeRequestDraft = Omit<PersonalizeRequest, 'soft'> & { soft?: Partial<SoftRequest> };

/** Checked request fields with defaults filled (everything cheap, before any model runs). */
export function checkPersonalizeRequest(request: PersonalizeRequestDraft, preset?: ModelPreset) {
  const { history, target } = validateRequestShape(request);
  const method = request.method ?? 'pmg';
  if (!personalizeMethods.includes(method)) throw new PmgError('invalid-argument', `unknown method '${method}'; use ${personalizeMethods.join(', ')}`);
  const mode = request.mode ?? 'repeat';
  if (!conditioningModes.includes(mode))
    throw new PmgError('invalid-argument', `mode: unknown mode '${mode}'; use ${conditioningModes.join('|')}`, {
      details: { field: 'mode' },
    });
  const search = request.search ?? 'exhaustive';
  if (!searchStrategies.includes(search))
    throw new PmgError('invalid-argument', `search: unknown strategy '${search}'; use ${searchStrategies.join('|')}`, {
      details: { field: 'search' },
    });
  const alpha = checkAlpha(request.alpha ?? DEFAULT_ALPHA);
  const earlyFraction = request.earlyFraction ?? DEFAULT_EARLY_FRACTION;
  if (!Number.isFinite(earlyFraction) || earlyFraction <= 0 || earlyFraction >= 1) {
    throw new PmgError('invalid-argument', `early fraction must be a number between 0 and 1 (exclusive), got ${earlyFraction}`);
  }
  const earlyKeep = request.earlyKeep ?? DEFAULT_EARLY_KEEP;
  if (!Number.isInteger(earlyKeep) || earlyKeep < 1) throw new PmgError('invalid-argument', `early keep must be a whole number >= 1, got ${earlyKeep}`);
  const previewScale = request.previewScale === undefined ? undefined : checkPreviewScale(request.previewScale, 'previewScale');
  const finalDecoder = request.finalDecoder;
  if (finalDecoder !== undefined && !decoderKinds.includes(finalDecoder)) {
    throw new PmgError('invalid-argument', `finalDecoder must be ${decoderKinds.join(' or ')}, got '${String(finalDecoder)}'`, {
      details: { field: 'finalDecoder' },
    });
  }
  if (request.previewEvery !== undefined) checkPreviewEvery(request.previewEvery, 'previewEvery');
  const targetWeight = request.targetWeight ?? 1;
  if (!Number.isFinite(targetWeight) || targetWeight < 0)
    throw new PmgError('invalid-argument', `targetWeight must be a number >= 0, got ${targetWeight}`, { details: { field: 'targetWeight' } });
  if (mode === 'repeat' && targetWeight !== 1) {
    throw new PmgError(
      'invalid-argument',
      `targetWeight ${targetWeight} needs mode embed: in repeat mode the target keywords are written once (weight 1) and only the preference keywords are repeated`,
      { details: { field: 'targetWeight' } },
    );
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
  if (request.weights && method !== 'pmg')
    throw new PmgError('invalid-argument', `weights are only used by method 'pmg' (method '${method}' generates one candidate)`);
  const softWeight = checkSoftUse(method, request.soft);
  return {
    history,
    target,
    method,
    mode,
    search,
    alpha,
    earlyFraction,
    earlyKeep,
    previewScale,
    finalDecoder,
    targetWeight,
    seed,
    steps,
    guidance,
    width,
    height,
    scheduler,
    timestepSpacing,
    weights,
    style,
    softWeight,
  };
}

/** w_s of the request (undefined without a soft branch); a soft branch the method does not use is refused. */
function checkSoftUse(method: PersonalizeMethod, soft: Partial<SoftRequest> | undefined): number | undefined {
  if (!soft) {
    if (method === 'soft') throw new PmgError('invalid-argument', "soft is missing: method 'soft' needs a soft module", { details: { field: 'soft' } });
    return undefined;
  }
  if (!softMethods.includes(method)) {
    throw new PmgError(
      'invalid-argument',
      `soft: method '${method}' does not use a soft module; drop the soft module or use method ${softMethods.join(' or ')}`,
      {
        details: { field: 'soft' },
      },
    );
  }
  const weight = soft.weight ?? 1;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
    throw new PmgError('invalid-argument', `soft.weight must be a number >= 0, got ${weight}`, { details: { field: 'soft.weight' } });
  }
  return weight;
}
