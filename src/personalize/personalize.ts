/**
 * PMG end to end for one user (method.md 1.4):
 *   1. keywords (LLM, or given)  1b. soft preference tokens, once, when a soft module is given (soft/)
 *   2. candidate plans (conditioning.ts)  3-6. the image generator's batch, all candidates with the same seed so
 *   only the conditioning differs, scored with CLIP (generate-candidates.ts, with the exhaustive or early search)
 *   7. z = α·log d_p + (1−α)·log d_t, the largest z wins among the finished candidates (ties: lower weight).
 *
 * The generator is the model set's (providers/model-set.ts imageGeneratorOf: the ONNX Stable Diffusion one unless
 * the set brings another), used only through spec/image-generator.ts; what the run needs from it (conditioning
 * mode, soft tokens, early search, latents, scheduler, final decoder) is checked against its capabilities before
 * any model runs. Live previews reach `onPreview` when the generator makes them.
 *
 * Decoders: the final images come from `finalDecoder` ('vae', the SD model's own, or 'tiny', the model set's tiny
 * autoencoder; default: the model set's choice), previews from the tiny decoder whenever there is one. Every
 * candidate records which decoder made its image.
 */
import { encodePng } from '../core/image-io.js';
import { generationPngTexts, generationRecord, imageRecord } from '../pipeline/generation-record.js';
import { vaeTilesRecord } from '../pipeline/vae-tiling-plan.js';
import { checkGeneratorSupports } from '../providers/image/generator-support.js';
import { imageGeneratorOf, type PersonalizeModels } from '../providers/model-set.js';
import { keywordText, type ScoringTexts } from '../scoring/clip-scorer.js';
import { selectBest, zScore } from '../scoring/selection.js';
import type { DecoderKind } from '../spec/diffusion-models.js';
import type { GeneratorCandidate } from '../spec/image-generator.js';
import type { FloatTensor } from '../spec/tensor.js';
import { PmgError } from '../errors/pmg-error.js';
import { planCandidates, targetPromptText, type CandidatePlan, type ConditioningMode } from './conditioning.js';
import { extractKeywords, type KeywordResult } from './extract-keywords.js';
import { generateCandidates } from './generate-candidates.js';
import { checkPersonalizeRequest, type PersonalizeRequest, type PersonalizeResult } from './personalize-request.js';
import type { PromptStyle } from './prompt-styles.js';
import { loadPrompts } from './prompts.js';
import { computeSoftTokens, weightedSoftTokens, type SoftTokens } from '../soft/soft-embeddings.js';
import { checkSoftGenerator, checkSoftLlm, checkSoftScene } from '../soft/soft-fit.js';
import { softModuleRecord } from '../soft/soft-module.js';

export {
  checkPersonalizeRequest,
  conditioningModes,
  DEFAULT_EARLY_FRACTION,
  DEFAULT_EARLY_KEEP,
  personalizeMethods,
  searchStrategies,
  softMethods,
  type PersonalizeCandidate,
  type PersonalizeMethod,
  type PersonalizeRequest,
  type PersonalizeRequestDraft,
  type PersonalizeResult,
  type PersonalizeSettings,
  type ProgressEvent,
  type SearchStrategy,
  type SoftRecord,
  type SoftRequest,
} from './personalize-request.js';

/** Candidate plans for the keywords (checks weights; target-only and soft drop the preference keywords). */
export function planForMethod(
  request: PersonalizeRequest,
  checked: ReturnType<typeof checkPersonalizeRequest>,
  keywords: { preference: string[]; target: string[] },
): CandidatePlan[] {
  return planCandidates({
    scene: request.scene,
    mode: checked.mode,
    title: checked.target.item?.title,
    targetKeywords: keywords.target,
    preferenceKeywords: checked.method === 'target-only' || checked.method === 'soft' ? [] : keywords.preference,
    weights: checked.weights,
    targetWeight: checked.targetWeight,
    style: checked.style,
    ...(request.negative !== undefined ? { negative: request.negative } : {}),
  });
}

/**
 * What the generator gets per candidate: the context [target ; preference × w_p ; soft × w_s] along the token axis
 * (repeat mode: the target and preference text as one prompt; embed mode: separately encoded spans), and for the
 * unconditional half of guidance the negative prompt followed by N copies of its own last token (a padding
 * position of the negative prompt's window). This is the counterpart the paper's port uses — its negative prompt is
 * encoded padded to the conditional length, so the extra positions hold padding states — and, unlike zeros or the
 * soft tokens themselves, it leaves guidance pushing toward exactly what the soft tokens add.
 */
export function candidateConditioning(plans: readonly CandidatePlan[], mode: ConditioningMode, softTokens?: FloatTensor): GeneratorCandidate[] {
  return plans.map((plan) => ({
    prompt: mode === 'repeat' ? plan.prompt : plan.spans.map((s) => ({ text: s.text, weight: s.weight })),
    negativePrompt: plan.negative,
    ...(softTokens ? { extraTokens: softTokens } : {}),
  }));
}

/** What d_t and d_p are scored against: the target part of the prompt as generated, and the preference keywords. */
export function scoringTexts(
  request: Pick<PersonalizeRequest, 'scene' | 'target'>,
  style: PromptStyle,
  keywords: { preference: readonly string[]; target: readonly string[] },
): ScoringTexts {
  return {
    target: targetPromptText({ scene: request.scene, title: request.target.item?.title, targetKeywords: keywords.target, style }),
    preference: keywordText(keywords.preference),
  };
}

export async function personalize(models: PersonalizeModels, request: PersonalizeRequest): Promise<PersonalizeResult> {
  const started = performance.now();
  const checked = checkPersonalizeRequest(request, models.preset);
  const generator = imageGeneratorOf(models);
  const finalKind = checked.finalDecoder ?? models.finalDecoder ?? 'vae';
  // The soft branch fits the LLM body, the generator and the scene; the generator can do what the run needs (checked before any model runs).
  const soft = checked.softWeight !== undefined ? request.soft : undefined;
  if (soft) {
    if (typeof soft.module !== 'object' || soft.module === null || typeof soft.body !== 'object' || soft.body === null) {
      throw new PmgError('invalid-argument', 'soft needs a module (readSoftModule) and the LLM body it was made for', { details: { field: 'soft' } });
    }
    checkSoftLlm(soft.module, soft.body, { ...(soft.allowLlmMismatch ? { allowLlmMismatch: true } : {}), ...(request.warn ? { warn: request.warn } : {}) });
  }
  checkGeneratorSupports(generator, {
    conditioning: checked.mode,
    softTokens: soft !== undefined,
    earlySearch: checked.search === 'early',
    negative: request.negative !== '',
    latents: request.latents !== undefined,
    ...(checked.scheduler ? { scheduler: checked.scheduler } : {}),
    finalDecoder: finalKind,
  });
  if (soft) {
    checkSoftGenerator(soft.module, generator.capabilities.softTokens!.width, generator.id);
    checkSoftScene(soft.module, request.scene);
  }
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
  const options = request.keywordOptions ?? {};
  const prompts = loadPrompts(options.promptsDir === undefined ? {} : { dir: options.promptsDir });
  let keywordResult: KeywordResult;
  if (request.keywords) {
    keywordResult = request.keywords;
    timings.keywords = 0;
  } else {
    progress({ stage: 'keywords', message: `asking ${models.llm.id}` });
    keywordResult = await timed('keywords', () =>
      extractKeywords({
        scene: request.scene,
        history: checked.history,
        target: checked.target,
        llm: models.llm,
        prompts,
        cache: options.cache,
        count: options.count,
        variant: options.variant,
        captioner: options.captioner,
        signal: request.signal,
      }),
    );
  }
  progress({ stage: 'keywords', keywords: keywordResult });
  const keywords = { preference: [...keywordResult.preference], target: [...keywordResult.target] };

  // 1b. soft preference tokens, once for every candidate
  let softTokens: SoftTokens | undefined;
  if (soft) {
    progress({ stage: 'soft', message: `${soft.module.config.N} tokens of ${soft.module.source} by ${soft.body.id}` });
    softTokens = await timed('soft', () =>
      computeSoftTokens({
        scene: request.scene,
        history: checked.history,
        module: soft.module,
        body: soft.body,
        prompts,
        ...(soft.cache ? { cache: soft.cache } : {}),
        ...(options.captioner ? { captioner: options.captioner } : {}),
        ...(request.warn ? { warn: request.warn } : {}),
      }),
    );
  }
  if (softTokens) progress({ stage: 'soft', soft: { N: soft!.module.config.N, cached: softTokens.cached } });
  const extraTokens = softTokens ? weightedSoftTokens(softTokens.tokens, checked.softWeight!) : undefined;

  // 2. plans  3-6. the generator's batch, scored (generate-candidates.ts)
  const plans = planForMethod(request, checked, keywords);
  const texts = scoringTexts({ scene: request.scene, target: checked.target }, checked.style, keywords);
  const seeds = plans.map(() => checked.seed);
  let previewed = false;
  const onPreview = request.onPreview;
  const stage = await generateCandidates({
    generator,
    clip: models.clip,
    plans,
    texts,
    checked,
    progress,
    timed,
    settings: {
      candidates: candidateConditioning(plans, checked.mode, extraTokens),
      seeds,
      steps: checked.steps,
      guidance: checked.guidance,
      width: checked.width,
      height: checked.height,
      scheduler: checked.scheduler,
      ...(checked.timestepSpacing ? { timestepSpacing: checked.timestepSpacing } : {}),
      ...(request.latents ? { latents: request.latents } : {}),
      finalDecoder: finalKind,
      signal: request.signal,
      onStep: (event) => progress({ stage: 'generate', step: event.stepsDone, total: event.requestedSteps }),
      ...(onPreview && generator.capabilities.previews ? { onPreview } : {}),
      ...(request.previewEvery !== undefined ? { previewEvery: request.previewEvery } : {}),
      ...(request.previewWanted ? { previewWanted: request.previewWanted } : {}),
      ...(checked.previewScale ? { previewScale: checked.previewScale } : {}),
      onPreviewTime: (ms) => {
        // Spent inside a timed denoising run: count it as preview, not denoise.
        timings.denoise = (timings.denoise ?? 0) - ms;
        timings.preview = (timings.preview ?? 0) + ms;
        previewed = true;
      },
      warn: request.warn,
      ...(request.memory ? { memory: request.memory } : {}),
      ...(request.info ? { info: request.info } : {}),
    },
  });
  const { dp, dt, finished, earlySteps } = stage;
  if (earlySteps !== undefined) previewed = true;
  const previewKind = stage.decoders.preview;
  const vaeTiling = stage.memory?.vae;

  // 7. selection (among finished candidates)
  const z = plans.map((_, i) => zScore(dp[i]!, dt[i]!, checked.alpha));
  const finishedIdx = plans.map((_, i) => i).filter((i) => finished[i]);
  const best = selectBest(
    finishedIdx.map((i) => ({ weights: plans[i]!.weights, dp: dp[i]!, dt: dt[i]! })),
    checked.alpha,
  );
  const chosen = finishedIdx[best.chosen]!;
  const decoderOf = (i: number): DecoderKind => (finished[i] ? finalKind : previewKind);
  const decoderModel = (kind: DecoderKind): string => (kind === 'tiny' ? (models.ids.decoder ?? models.decoder!.id) : generator.id);
  const record = (i: number) =>
    generationRecord({
      model: generator.id,
      prompt: plans[i]!.prompt,
      negativePrompt: plans[i]!.negative,
      steps: checked.steps,
      guidanceScale: checked.guidance,
      width: checked.width,
      height: checked.height,
      scheduler: stage.scheduler,
      ...(finished[i] ? vaeTilesRecord(vaeTiling) : { previewAfterStep: earlySteps }),
      decoder: { kind: decoderOf(i), model: decoderModel(decoderOf(i)) },
      images: [imageRecord(i, seeds[i]!, request.latents, request.latentsSource)],
    });
  const pngs = await Promise.all(stage.images.map((image, i) => encodePng(image, generationPngTexts(record(i)))));
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
      decoder: decoderOf(i),
      contextTokens: stage.contextTokens[i]!,
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
      ...(checked.search === 'early'
        ? { earlyFraction: checked.earlyFraction, earlyKeep: checked.earlyKeep, previewScale: checked.previewScale ?? stage.decoders.previewScale }
        : {}),
      ...(stage.previewScaleUsed !== undefined ? { previewScaleUsed: stage.previewScaleUsed } : {}),
      finalDecoder: finalKind,
      ...(previewed ? { previewDecoder: previewKind } : {}),
      ...(earlySteps !== undefined ? { earlySteps } : {}),
      promptStyle: checked.style.name,
      ...(request.latentsSource ? { latents: request.latentsSource } : {}),
      ...(request.memory && stage.memory ? { memory: stage.memory } : {}),
    },
    ...(soft && softTokens
      ? {
          soft: {
            ...softModuleRecord(soft.module),
            weight: checked.softWeight!,
            llm: { id: soft.body.id, fingerprint: soft.body.fingerprint },
            template: softTokens.template,
            prompt: softTokens.prompt,
            promptTokens: softTokens.promptTokens,
            cached: softTokens.cached,
          },
        }
      : {}),
  };
}

/** Moved to scoring/ranking.ts; the name stays here for existing callers. */
export { rankByZ } from '../scoring/ranking.js';
