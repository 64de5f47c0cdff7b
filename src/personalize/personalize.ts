/**
 * PMG end to end for one user (method.md 1.4):
 *   1. keywords (LLM, or given)  2. candidate plans (conditioning.ts)  3. encode  4. ONE batched denoising
 *   run for all candidates (one UNet call per step per token length), all with the same seed so only the
 *   conditioning differs  5. decode
 *   6. CLIP scores d_p, d_t  7. z = α·log d_p + (1−α)·log d_t, the largest z wins (ties: lower weight).
 *
 * Search: `exhaustive` runs every candidate to the end. `early` runs all of them to `earlyFraction` of the
 * steps, decodes each candidate's predicted clean latents x0 as a cheap preview (x0 average-pooled
 * `previewScale` x `previewScale` before the VAE, pixels repeated back to full size), scores the previews, and
 * finishes only the best `earlyKeep`; the others are reported with their preview image and scores, `finished: false`.
 * In `early`, `chosen` is the best z among the finished candidates.
 */
import { tensorToRgbImages } from '../core/image-tensor.js';
import { encodePng, type RgbImage } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';
import type { CandidateConditioning } from '../pipeline/conditioning.js';
import { generationPngTexts, generationRecord, imageRecord, type LatentsSource } from '../pipeline/generation-record.js';
import { checkPreviewScale, decodePreview, DEFAULT_PREVIEW_SCALE, type PreviewScale } from '../pipeline/latent-preview.js';
import { decoderForMemory, type MemoryOptions, type MemoryRecord } from '../pipeline/memory-plan.js';
import { vaeTilesRecord } from '../pipeline/vae-tiling-plan.js';
import { DEFAULTS, decodeLatents, prepareDenoise } from '../pipeline/text-to-image.js';
import { keywordText, scoreCandidates, type ScoringTexts } from '../scoring/clip-scorer.js';
import { DEFAULT_ALPHA, checkAlpha, selectBest, zScore, type CandidateWeights } from '../scoring/selection.js';
import type { History, Scene, Target } from '../spec/behaviour.js';
import type { FloatTensor } from '../spec/tensor.js';
import { defaultEmbedWeights, defaultRepeatWeights, planCandidates, targetPromptText, type CandidatePlan, type ConditioningMode } from './conditioning.js';
import { extractKeywords, type KeywordResult, type KeywordVariant } from './extract-keywords.js';
import type { KeywordCache } from './keyword-cache.js';
import type { ModelSet } from './model-set.js';
import { DEFAULT_PROMPT_STYLE, promptStyle, type PromptStyle, type PromptStyleName } from './prompt-styles.js';
import { loadPrompts } from './prompts.js';
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
  /** Early search: x0 latents are average-pooled s x s before the preview decode (1, 2 or 4; default 2). */
  previewScale?: PreviewScale;
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
  negative?: string;
  /** The scenes' negative prompts and sticker prefix (prompt-styles.ts); default: the preset's, else 'pmg'. */
  promptStyle?: PromptStyleName;
  /** Precomputed keywords (skip the LLM). */
  keywords?: KeywordResult;
  keywordOptions?: { count?: number; variant?: KeywordVariant; promptsDir?: string; cache?: KeywordCache; captioner?: CaptionImage };
  /** Memory budget, UNet slices and VAE tiling (pipeline/memory-plan.ts); default: no budget, no tiling. */
  memory?: MemoryOptions;
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
export function checkPersonalizeRequest(request: PersonalizeRequest, preset?: ModelSet['preset']) {
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
  const previewScale = checkPreviewScale(request.previewScale ?? DEFAULT_PREVIEW_SCALE, 'preview scale (--preview-scale)');
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
  const style = promptStyle(request.promptStyle ?? preset?.promptStyle ?? DEFAULT_PROMPT_STYLE);
  const defaults = mode === 'repeat' ? defaultRepeatWeights[request.scene] : defaultEmbedWeights;
  let weights: number[];
  if (method === 'pmg') weights = request.weights ?? defaults;
  else if (method === 'keywords') weights = [request.fixedWeight ?? defaults[0]!];
  else weights = [0];
  if (request.weights && method !== 'pmg') throw new PmgError('invalid-argument', `weights are only used by method 'pmg' (method '${method}' generates one candidate)`);
  return { history, target, method, mode, search, alpha, earlyFraction, earlyKeep, previewScale, targetWeight, seed, steps, guidance, width, height, scheduler, weights, style };
}

/** Candidate plans for the keywords (checks weights; target-only drops the preference part). */
export function planForMethod(request: PersonalizeRequest, checked: ReturnType<typeof checkPersonalizeRequest>, keywords: { preference: string[]; target: string[] }): CandidatePlan[] {
  return planCandidates({
    scene: request.scene,
    mode: checked.mode,
    title: checked.target.item?.title,
    targetKeywords: keywords.target,
    preferenceKeywords: checked.method === 'target-only' ? [] : keywords.preference,
    weights: checked.weights,
    targetWeight: checked.targetWeight,
    style: checked.style,
    ...(request.negative !== undefined ? { negative: request.negative } : {}),
  });
}

/** What d_t and d_p are scored against: the target part of the prompt as generated, and the preference keywords. */
export function scoringTexts(request: Pick<PersonalizeRequest, 'scene' | 'target'>, style: PromptStyle, keywords: { preference: readonly string[]; target: readonly string[] }): ScoringTexts {
  return {
    target: targetPromptText({ scene: request.scene, title: request.target.item?.title, targetKeywords: keywords.target, style }),
    preference: keywordText(keywords.preference),
  };
}

export async function personalize(models: ModelSet, request: PersonalizeRequest): Promise<PersonalizeResult> {
  const started = performance.now();
  const checked = checkPersonalizeRequest(request, models.preset);
  const timings: Record<string, number> = {};
  const progress = request.onProgress ?? (() => undefined);
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      timings[name] = (timings[name] ?? 0) + (performance.now() - t0);
    }
  };

  // 1. keywords
  let keywordResult: KeywordResult;
  if (request.keywords) {
    keywordResult = request.keywords;
    timings.keywords = 0;
  } else {
    progress({ stage: 'keywords', message: `asking ${models.llm.id}` });
    const options = request.keywordOptions ?? {};
    keywordResult = await timed('keywords', () =>
      extractKeywords({
        scene: request.scene,
        history: checked.history,
        target: checked.target,
        llm: models.llm,
        prompts: loadPrompts(options.promptsDir === undefined ? {} : { dir: options.promptsDir }),
        cache: options.cache,
        count: options.count,
        variant: options.variant,
        captioner: options.captioner,
        signal: request.signal,
      }),
    );
  }
  const keywords = { preference: [...keywordResult.preference], target: [...keywordResult.target] };

  // 2. plans  3. encode (+ timesteps and seeded latents)
  const plans = planForMethod(request, checked, keywords);
  const texts = scoringTexts({ scene: request.scene, target: checked.target }, checked.style, keywords);
  const conditioning: CandidateConditioning[] = plans.map((plan) => ({
    prompt: checked.mode === 'repeat' ? plan.prompt : plan.spans.map((s) => ({ text: s.text, weight: s.weight })),
    negativePrompt: plan.negative,
  }));
  const seeds = plans.map(() => checked.seed);
  const state = await timed('encode', () =>
    prepareDenoise(models.sd, {
      candidates: conditioning,
      seeds,
      steps: checked.steps,
      guidanceScale: checked.guidance,
      width: checked.width,
      height: checked.height,
      scheduler: checked.scheduler,
      ...(request.latents ? { latents: request.latents } : {}),
      signal: request.signal,
      warn: request.warn,
      ...(request.memory ? { memory: request.memory } : {}),
      ...(request.info ? { info: request.info } : {}),
    }),
  );
  const total = state.stepCount;
  const scheduler = state.schedulerRecord;
  const onStep = (event: { stepsDone: number; requestedSteps: number }): void => progress({ stage: 'generate', step: event.stepsDone, total: event.requestedSteps });

  const k = plans.length;
  const images: (RgbImage | undefined)[] = new Array(k);
  const dp: number[] = new Array(k).fill(0);
  const dt: number[] = new Array(k).fill(0);
  const finished: boolean[] = new Array(k).fill(true);
  const score = async (indices: number[], rgb: RgbImage[]): Promise<void> => {
    progress({ stage: 'score', message: `CLIP on ${rgb.length} image(s)` });
    const s = await timed('score', () => scoreCandidates(models.clip, rgb, texts));
    indices.forEach((index, j) => {
      images[index] = rgb[j];
      dp[index] = s.dp[j]!;
      dt[index] = s.dt[j]!;
    });
  };
  let vaeTiling: MemoryRecord['vae'];
  const decode = async (latents: Parameters<typeof decodeLatents>[1]): Promise<RgbImage[]> => {
    progress({ stage: 'decode', message: `VAE on ${latents.dims[0]} latent(s)` });
    const vae = decoderForMemory(models.sd.vaeDecoder, latents.dims[2]!, latents.dims[3]!, request.memory, request.info);
    vaeTiling = vae.plan;
    return tensorToRgbImages(await timed('decode', () => decodeLatents(vae.decoder, latents, request.signal)));
  };

  let earlySteps: number | undefined;
  let previewScaleUsed: PreviewScale | undefined;
  const keep = Math.min(checked.earlyKeep, k);
  if (checked.search === 'early' && keep < k && total > 1) {
    // 4a. all candidates to the early step; score the x0 previews; keep the best.
    earlySteps = Math.min(total - 1, Math.max(1, Math.round(checked.earlyFraction * total)));
    await timed('denoise', () => state.run({ until: earlySteps, signal: request.signal, onStep }));
    const all = plans.map((_, i) => i);
    progress({ stage: 'decode', message: `VAE preview of ${k} latent(s)` });
    const preview = await timed('decode', () => decodePreview(models.sd.vaeDecoder, state.predictedOriginal(), { scale: checked.previewScale, signal: request.signal }));
    previewScaleUsed = preview.scale;
    await score(all, tensorToRgbImages(preview.images));
    const ranked = rankByZ(plans.map((p, i) => ({ weights: p.weights, dp: dp[i]!, dt: dt[i]! })), checked.alpha);
    const kept = ranked.slice(0, keep).sort((a, b) => a - b);
    for (const i of all) finished[i] = kept.includes(i);
    state.keep(kept);
    await timed('denoise', () => state.run({ signal: request.signal, onStep }));
    await score(kept, await decode(state.latents()));
  } else {
    await timed('denoise', () => state.run({ signal: request.signal, onStep }));
    await score(plans.map((_, i) => i), await decode(state.latents()));
  }

  // 7. selection (among finished candidates)
  const z = plans.map((_, i) => zScore(dp[i]!, dt[i]!, checked.alpha));
  const finishedIdx = plans.map((_, i) => i).filter((i) => finished[i]);
  const best = selectBest(finishedIdx.map((i) => ({ weights: plans[i]!.weights, dp: dp[i]!, dt: dt[i]! })), checked.alpha);
  const chosen = finishedIdx[best.chosen]!;
  const record = (i: number) =>
    generationRecord({
      model: models.ids.sd,
      prompt: plans[i]!.prompt,
      negativePrompt: plans[i]!.negative,
      steps: checked.steps,
      guidanceScale: checked.guidance,
      width: checked.width,
      height: checked.height,
      scheduler,
      ...(finished[i] ? vaeTilesRecord(vaeTiling) : { previewAfterStep: earlySteps }),
      images: [imageRecord(i, seeds[i]!, request.latents, request.latentsSource)],
    });
  const pngs = await Promise.all(images.map((image, i) => encodePng(image!, generationPngTexts(record(i)))));
  timings.total = performance.now() - started;
  for (const key of Object.keys(timings)) timings[key] = Math.round(timings[key]! * 10) / 10;

  return {
    scene: request.scene,
    method: checked.method,
    alpha: checked.alpha,
    mode: checked.mode,
    search: checked.search,
    keywords: {
      preference: keywords.preference,
      target: keywords.target,
      prompts: keywordResult.prompts,
      raw: keywordResult.raw,
      model: keywordResult.model,
      cached: keywordResult.cached,
    },
    candidates: plans.map((plan, i) => ({
      weights: plan.weights,
      prompt: plan.prompt,
      negative: plan.negative,
      seed: seeds[i]!,
      dp: dp[i]!,
      dt: dt[i]!,
      z: z[i]!,
      png: pngs[i]!,
      finished: finished[i]!,
    })),
    scoring: { targetText: texts.target, preferenceText: texts.preference },
    chosen,
    timings,
    settings: {
      steps: checked.steps,
      guidance: checked.guidance,
      width: checked.width,
      height: checked.height,
      seed: checked.seed,
      ...(checked.scheduler ? { scheduler: checked.scheduler } : {}),
      ...(checked.search === 'early' ? { earlyFraction: checked.earlyFraction, earlyKeep: checked.earlyKeep, previewScale: checked.previewScale } : {}),
      ...(previewScaleUsed !== undefined ? { previewScaleUsed } : {}),
      ...(earlySteps !== undefined ? { earlySteps } : {}),
      promptStyle: checked.style.name,
      ...(request.latentsSource ? { latents: request.latentsSource } : {}),
      ...(request.memory ? { memory: { unet: state.slicePlan, ...(vaeTiling ? { vae: vaeTiling } : {}) } } : {}),
    },
  };
}

/** Candidate indices from best to worst z; ties go to the lower preference weight, then target weight, then index. */
export function rankByZ(candidates: readonly { weights: CandidateWeights; dp: number; dt: number }[], alpha: number): number[] {
  const z = candidates.map((c) => zScore(c.dp, c.dt, alpha));
  return candidates
    .map((_, i) => i)
    .sort((a, b) => z[b]! - z[a]! || candidates[a]!.weights.preference - candidates[b]!.weights.preference || candidates[a]!.weights.target - candidates[b]!.weights.target || a - b);
}
