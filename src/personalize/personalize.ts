/**
 * PMG end to end for one user (method.md 1.4):
 *   1. keywords (LLM, or given)  1b. soft preference tokens, once, when a soft module is given (soft/)
 *   2. candidate plans (conditioning.ts)  3. encode  4. ONE batched denoising
 *   run for all candidates (one UNet call per step per token length), all with the same seed so only the
 *   conditioning differs  5. decode
 *   6. CLIP scores d_p, d_t  7. z = α·log d_p + (1−α)·log d_t, the largest z wins (ties: lower weight).
 *
 * Search: `exhaustive` runs every candidate to the end. `early` runs all of them to `earlyFraction` of the
 * steps, decodes each candidate's predicted clean latents x0 as a cheap preview (with the tiny decoder at full
 * size when the model set has one; else x0 average-pooled `previewScale` x `previewScale` before the VAE, pixels
 * repeated back to full size), scores the previews, and finishes only the best `earlyKeep`; the others are reported
 * with their preview image and scores, `finished: false`. In `early`, `chosen` is the best z among the finished candidates.
 *
 * Decoders: the final images come from `finalDecoder` ('vae', the SD model's own, or 'tiny', the model set's tiny
 * autoencoder; default: the model set's choice), previews from the tiny decoder whenever there is one. Every
 * candidate records which decoder made its image. `onPreview` receives live x0 previews while the denoising runs.
 */
import { tensorToRgbImages } from '../core/image-tensor.js';
import { encodePng, type RgbImage } from '../core/image-io.js';
import type { CandidateConditioning } from '../pipeline/conditioning.js';
import type { StepEvent } from '../pipeline/denoise-state.js';
import { generationPngTexts, generationRecord, imageRecord } from '../pipeline/generation-record.js';
import { decodePreviewWith, previewDecoder, type PreviewDecoders, type PreviewScale } from '../pipeline/latent-preview.js';
import { livePreviewHook, type StepPreview } from '../pipeline/step-preview.js';
import { decodeLatents, finalDecoderOf } from '../pipeline/decode-latents.js';
import { prepareDenoise } from '../pipeline/text-to-image.js';
import { decoderForMemory, type MemoryRecord } from '../pipeline/memory-plan.js';
import { vaeTilesRecord } from '../pipeline/vae-tiling-plan.js';
import { keywordText, scoreCandidates, type ScoringTexts } from '../scoring/clip-scorer.js';
import { earlySearchPlan, keepBest } from '../scoring/ranking.js';
import { selectBest, zScore } from '../scoring/selection.js';
import type { DecoderKind } from '../spec/diffusion-models.js';
import { PmgError } from '../errors/pmg-error.js';
import { planCandidates, targetPromptText, type CandidatePlan, type ConditioningMode } from './conditioning.js';
import type { FloatTensor } from '../spec/tensor.js';
import { extractKeywords, type KeywordResult } from './extract-keywords.js';
import type { ModelSet } from './model-set.js';
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
export function candidateConditioning(plans: readonly CandidatePlan[], mode: ConditioningMode, softTokens?: FloatTensor): CandidateConditioning[] {
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

export async function personalize(models: ModelSet, request: PersonalizeRequest): Promise<PersonalizeResult> {
  const started = performance.now();
  const checked = checkPersonalizeRequest(request, models.preset);
  // Decoders: the final one (checked before any model runs), and the preview one (the tiny decoder whenever there is one).
  const finalKind = checked.finalDecoder ?? models.finalDecoder ?? 'vae';
  const finalDecoder = finalDecoderOf(models.sd.vaeDecoder, models.decoder?.decoder, finalKind);
  const decoders: PreviewDecoders = { vae: models.sd.vaeDecoder, ...(models.decoder ? { tiny: models.decoder.decoder } : {}) };
  const previewKind = previewDecoder(decoders).kind;
  // The soft branch fits the LLM body, the generator and the scene (checked before any model runs).
  const soft = checked.softWeight !== undefined ? request.soft : undefined;
  if (soft) {
    if (typeof soft.module !== 'object' || soft.module === null || typeof soft.body !== 'object' || soft.body === null) {
      throw new PmgError('invalid-argument', 'soft needs a module (readSoftModule) and the LLM body it was made for', { details: { field: 'soft' } });
    }
    checkSoftLlm(soft.module, soft.body, { ...(soft.allowLlmMismatch ? { allowLlmMismatch: true } : {}), ...(request.warn ? { warn: request.warn } : {}) });
    checkSoftGenerator(soft.module, models.sd.textEncoder.hiddenSize, models.ids.sd);
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

  // 2. plans  3. encode (+ timesteps and seeded latents)
  const plans = planForMethod(request, checked, keywords);
  const texts = scoringTexts({ scene: request.scene, target: checked.target }, checked.style, keywords);
  const conditioning = candidateConditioning(plans, checked.mode, extraTokens);
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
      ...(checked.timestepSpacing ? { timestepSpacing: checked.timestepSpacing } : {}),
      ...(request.latents ? { latents: request.latents } : {}),
      signal: request.signal,
      warn: request.warn,
      ...(request.memory ? { memory: request.memory } : {}),
      ...(request.info ? { info: request.info } : {}),
    }),
  );
  const contextTokens = state.contextTokens;
  // The progress bar starts before the first step (seconds on a real UNet), in the steps the caller asked for.
  progress({ stage: 'generate', step: 0, total: checked.steps });

  const total = state.stepCount;
  const scheduler = state.schedulerRecord;
  let previewed = false;
  let lastLive: StepPreview | undefined;
  const onPreview = request.onPreview;
  const live = onPreview
    ? livePreviewHook({
        decoders,
        onPreview: (preview) => {
          lastLive = preview;
          return onPreview(preview);
        },
        ...(request.previewEvery !== undefined ? { every: request.previewEvery } : {}),
        ...(request.previewWanted ? { wanted: request.previewWanted } : {}),
        ...(checked.previewScale ? { scale: checked.previewScale } : {}),
        signal: request.signal,
        onTime: (ms) => {
          // Spent inside a timed denoising run: count it as preview, not denoise.
          timings.denoise = (timings.denoise ?? 0) - ms;
          timings.preview = (timings.preview ?? 0) + ms;
          previewed = true;
        },
      })
    : undefined;
  const onStep = async (event: StepEvent): Promise<void> => {
    progress({ stage: 'generate', step: event.stepsDone, total: event.requestedSteps });
    await live?.(event);
  };
  const decoderName = (kind: DecoderKind): string => (kind === 'tiny' ? 'tiny decoder' : 'VAE');

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
    progress({ stage: 'decode', message: `${decoderName(finalKind)} on ${latents.dims[0]} latent(s)` });
    // The VAE may decode in tiles under the memory budget; a tiny decoder is small enough to decode whole.
    const decoder =
      finalKind === 'vae'
        ? decoderForMemory(finalDecoder, latents.dims[2]!, latents.dims[3]!, request.memory, request.info)
        : { decoder: finalDecoder, plan: undefined };
    vaeTiling = decoder.plan;
    return tensorToRgbImages(await timed('decode', () => decodeLatents(decoder.decoder, latents, request.signal)));
  };

  let earlySteps: number | undefined;
  let previewScaleUsed: PreviewScale | undefined;
  const early = earlySearchPlan({
    search: checked.search,
    earlyFraction: checked.earlyFraction,
    earlyKeep: checked.earlyKeep,
    candidates: k,
    totalSteps: total,
  });
  if (early) {
    // 4a. all candidates to the early step; score the x0 previews; keep the best (scoring/ranking.ts).
    earlySteps = early.earlySteps;
    await timed('denoise', () => state.run({ until: earlySteps, signal: request.signal, onStep }));
    const all = plans.map((_, i) => i);
    progress({ stage: 'decode', message: `${decoderName(previewKind)} preview of ${k} latent(s)` });
    // A live preview of this very step (same decoder, same scale, every candidate) is the early preview: not decoded twice.
    const shown = lastLive?.step === earlySteps - 1 ? lastLive : undefined;
    const preview =
      shown ??
      (await timed('decode', () =>
        decodePreviewWith(decoders, state.predictedOriginal(), { ...(checked.previewScale ? { scale: checked.previewScale } : {}), signal: request.signal }),
      ));
    previewScaleUsed = preview.scale;
    previewed = true;
    await score(all, tensorToRgbImages(preview.images));
    const kept = keepBest(
      plans.map((p, i) => ({ weights: p.weights, dp: dp[i]!, dt: dt[i]! })),
      checked.alpha,
      early.keep,
    );
    for (const i of all) finished[i] = kept.includes(i);
    state.keep(kept);
    await timed('denoise', () => state.run({ signal: request.signal, onStep }));
    await score(kept, await decode(state.latents()));
  } else {
    await timed('denoise', () => state.run({ signal: request.signal, onStep }));
    await score(
      plans.map((_, i) => i),
      await decode(state.latents()),
    );
  }

  // 7. selection (among finished candidates)
  const z = plans.map((_, i) => zScore(dp[i]!, dt[i]!, checked.alpha));
  const finishedIdx = plans.map((_, i) => i).filter((i) => finished[i]);
  const best = selectBest(
    finishedIdx.map((i) => ({ weights: plans[i]!.weights, dp: dp[i]!, dt: dt[i]! })),
    checked.alpha,
  );
  const chosen = finishedIdx[best.chosen]!;
  const decoderOf = (i: number): DecoderKind => (finished[i] ? finalKind : previewKind);
  const decoderModel = (kind: DecoderKind): string => (kind === 'tiny' ? (models.ids.decoder ?? models.decoder!.id) : models.ids.sd);
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
      decoder: { kind: decoderOf(i), model: decoderModel(decoderOf(i)) },
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
      decoder: decoderOf(i),
      contextTokens: contextTokens[i]!,
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
        ? { earlyFraction: checked.earlyFraction, earlyKeep: checked.earlyKeep, previewScale: checked.previewScale ?? previewDecoder(decoders).defaultScale }
        : {}),
      ...(previewScaleUsed !== undefined ? { previewScaleUsed } : {}),
      finalDecoder: finalKind,
      ...(previewed ? { previewDecoder: previewKind } : {}),
      ...(earlySteps !== undefined ? { earlySteps } : {}),
      promptStyle: checked.style.name,
      ...(request.latentsSource ? { latents: request.latentsSource } : {}),
      ...(request.memory ? { memory: { unet: state.slicePlan, ...(vaeTiling ? { vae: vaeTiling } : {}) } } : {}),
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
