/**
 * PMG's generation stage for one user (method.md 1.4, steps 3-6): the candidates' conditioning goes to the image
 * generator (spec/image-generator.ts) as ONE batch, all with the same seed so only the conditioning differs; the
 * images are scored with CLIP (d_p, d_t).
 *
 * Search: `exhaustive` runs every candidate to the end. `early` runs all of them to `earlyFraction` of the steps,
 * scores each candidate's x0 preview (the generator's preview decoder), and finishes only the best `earlyKeep`
 * (scoring/ranking.ts); the others keep their preview image and scores, `finished: false`.
 */
import { tensorToRgbImages } from '../core/image-tensor.js';
import type { RgbImage } from '../core/image-io.js';
import type { MemoryRecord } from '../pipeline/memory-plan.js';
import { scoreCandidates, type ScoringTexts } from '../scoring/clip-scorer.js';
import { earlySearchPlan, keepBest } from '../scoring/ranking.js';
import type { ClipModel } from '../runtime/transformers-models.js';
import type { DecoderKind } from '../spec/diffusion-models.js';
import type { GenerationSettings, ImageGenerator, PreviewScale } from '../spec/image-generator.js';
import type { SchedulerRecord } from '../spec/scheduler.js';
import type { CandidatePlan } from './conditioning.js';
import type { checkPersonalizeRequest, PersonalizeRequest } from './personalize-request.js';

export interface CandidateStageInput {
  generator: ImageGenerator;
  clip: ClipModel;
  plans: readonly CandidatePlan[];
  /** The generator's settings for the batch (candidates, seeds, size, steps, decoder, previews …). */
  settings: GenerationSettings;
  texts: ScoringTexts;
  checked: Pick<ReturnType<typeof checkPersonalizeRequest>, 'search' | 'earlyFraction' | 'earlyKeep' | 'alpha' | 'steps'>;
  progress: NonNullable<PersonalizeRequest['onProgress']>;
  /** Adds the time of `work` to the stage `name` of the run's timings. */
  timed: <T>(name: string, work: () => Promise<T>) => Promise<T>;
}

export interface CandidateStageResult {
  images: RgbImage[];
  dp: number[];
  dt: number[];
  finished: boolean[];
  contextTokens: readonly number[];
  scheduler: SchedulerRecord;
  decoders: { final: DecoderKind; preview: DecoderKind; previewScale: PreviewScale };
  /** The UNet slices and VAE tiling of the final decode. */
  memory?: MemoryRecord;
  /** early: the step the previews were scored at, and their scale. */
  earlySteps?: number;
  previewScaleUsed?: PreviewScale;
}

const decoderName = (kind: DecoderKind): string => (kind === 'tiny' ? 'tiny decoder' : 'VAE');

export async function generateCandidates(input: CandidateStageInput): Promise<CandidateStageResult> {
  const { generator, plans, checked, progress, timed } = input;
  const generation = await timed('encode', () => generator.start(input.settings));
  // The progress bar starts before the first step (seconds on a real UNet), in the steps the caller asked for.
  progress({ stage: 'generate', step: 0, total: checked.steps });

  const k = plans.length;
  const images: (RgbImage | undefined)[] = new Array(k);
  const dp: number[] = new Array(k).fill(0);
  const dt: number[] = new Array(k).fill(0);
  const finished: boolean[] = new Array(k).fill(true);
  const score = async (indices: readonly number[], rgb: RgbImage[]): Promise<void> => {
    progress({ stage: 'score', message: `CLIP on ${rgb.length} image(s)` });
    const s = await timed('score', () => scoreCandidates(input.clip, rgb, input.texts));
    indices.forEach((index, j) => {
      images[index] = rgb[j];
      dp[index] = s.dp[j]!;
      dt[index] = s.dt[j]!;
    });
  };
  let memory: MemoryRecord | undefined;
  const finish = async (count: number): Promise<RgbImage[]> => {
    progress({ stage: 'decode', message: `${decoderName(generation.decoders.final)} on ${count} latent(s)` });
    const out = await timed('decode', () => generation.finish());
    memory = out.memory;
    return tensorToRgbImages(out.images);
  };

  const all = plans.map((_, i) => i);
  const early = earlySearchPlan({
    search: checked.search,
    earlyFraction: checked.earlyFraction,
    earlyKeep: checked.earlyKeep,
    candidates: k,
    totalSteps: generation.stepCount,
  });
  let previewScaleUsed: PreviewScale | undefined;
  if (early) {
    // 4a. all candidates to the early step; score the x0 previews; keep the best (scoring/ranking.ts).
    await timed('denoise', () => generation.run({ until: early.earlySteps }));
    progress({ stage: 'decode', message: `${decoderName(generation.decoders.preview)} preview of ${k} latent(s)` });
    const preview = await timed('decode', () => generation.preview());
    previewScaleUsed = preview.scale;
    await score(all, tensorToRgbImages(preview.images));
    const kept = keepBest(
      plans.map((p, i) => ({ weights: p.weights, dp: dp[i]!, dt: dt[i]! })),
      checked.alpha,
      early.keep,
    );
    for (const i of all) finished[i] = kept.includes(i);
    generation.keep(kept);
    await timed('denoise', () => generation.run());
    await score(kept, await finish(kept.length));
  } else {
    await timed('denoise', () => generation.run());
    await score(all, await finish(k));
  }
  return {
    images: images as RgbImage[],
    dp,
    dt,
    finished,
    contextTokens: generation.contextTokens,
    scheduler: generation.scheduler,
    decoders: generation.decoders,
    ...(memory ? { memory } : {}),
    ...(early ? { earlySteps: early.earlySteps, previewScaleUsed: previewScaleUsed! } : {}),
  };
}
