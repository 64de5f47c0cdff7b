/**
 * What PMG's generation stage needs from an image generator (method.md 1.4, steps 3-5): condition the candidates'
 * prompts, denoise them as one batch from one seed each, and hand back their images — with per-step progress,
 * optional x0 previews, and (for the early search) stopping at a step, keeping some candidates and finishing them.
 *
 * The ONNX Stable Diffusion generator (providers/image/onnx-image-generator.ts) can do all of it; a generator on a
 * remote server (A1111, ComfyUI) says what it cannot do in `capabilities`, and a request that needs it is refused
 * with one line before any work (providers/image/generator-support.ts). The shared contract suite
 * (testing/image-generator-contract.ts) checks any implementation.
 */
import type { MemoryOptions, MemoryRecord } from '../pipeline/memory-plan.js';
import type { DecoderKind } from './diffusion-models.js';
import type { SchedulerName, SchedulerRecord, TimestepSpacing } from './scheduler.js';
import type { FloatTensor } from './tensor.js';

/**
 * How a candidate's weighted prompt reaches the generator: 'repeat' (one prompt text, the weights as repeated
 * keywords), 'embed' (weighted spans, each encoded on its own and scaled by its weight).
 */
export type GeneratorConditioning = 'repeat' | 'embed';

/** The pooling scale of x0 before the preview decoder (1: full resolution). */
export type PreviewScale = 1 | 2 | 4;

export interface ImageGeneratorCapabilities {
  /** The conditioning modes it accepts ('repeat' needs plain text only). */
  conditioning: readonly GeneratorConditioning[];
  /** Extra conditioning tokens after the prompt (PMG's soft preference tokens): the width of its text embeddings; absent: none. */
  softTokens?: { width: number };
  /** Live x0 previews during the denoising (`onPreview`). */
  previews: boolean;
  /** Stop at a step, preview, keep some candidates and finish them (the early search). */
  earlySearch: boolean;
  /** A negative prompt per candidate. */
  negative: boolean;
  /** Initial latents instead of seeded noise. */
  latents: boolean;
  /** The schedulers it runs by pmg's names. */
  schedulers: readonly SchedulerName[];
  /** The decoders that can make its final images. */
  decoders: readonly DecoderKind[];
}

/** One candidate's conditioning. */
export interface GeneratorCandidate {
  /** Plain text ('repeat'), or weighted spans ('embed'). */
  prompt: string | readonly { text: string; weight: number }[];
  negativePrompt?: string;
  /** Extra tokens `[n, width]` or `[1, n, width]` after the prompt's tokens (needs `capabilities.softTokens`). */
  extraTokens?: FloatTensor;
}

/** Where the denoising stands after a step. */
export interface GeneratorStep {
  /** Steps done of the steps asked for, and the 0-based call just done of `stepCount` calls in all. */
  stepsDone: number;
  requestedSteps: number;
  step: number;
  stepCount: number;
}

/** Decoded x0 of the running candidates. */
export interface GeneratorPreview {
  stepsDone: number;
  requestedSteps: number;
  step: number;
  /** Original indices of the candidates shown, one image each. */
  candidates: readonly number[];
  /** `[k, 3, height, width]` in [-1, 1], full size. */
  images: FloatTensor;
  decoder: DecoderKind;
  scale: PreviewScale;
}

export interface GenerationSettings {
  candidates: readonly GeneratorCandidate[];
  /** One seed per candidate. */
  seeds: readonly number[];
  steps: number;
  guidance: number;
  width: number;
  height: number;
  /** Default: the model's own. */
  scheduler?: SchedulerName | string;
  timestepSpacing?: TimestepSpacing;
  /** Initial latents `[k or 1, 4, height/8, width/8]` (needs `capabilities.latents`). */
  latents?: FloatTensor;
  /** Which decoder makes the final images (default: the generator's). */
  finalDecoder?: DecoderKind;
  signal?: AbortSignal;
  onStep?: (step: GeneratorStep) => void | Promise<void>;
  /** Live previews (needs `capabilities.previews`), every `previewEvery` steps, skipped while `previewWanted` says false. */
  onPreview?: (preview: GeneratorPreview) => void | Promise<void>;
  previewEvery?: number;
  previewWanted?: () => boolean;
  previewScale?: PreviewScale;
  /** Receives the ms spent decoding live previews (inside `run`). */
  onPreviewTime?: (ms: number) => void;
  /** Memory budget, UNet slices and VAE tiling (pipeline/memory-plan.ts; a generator without them ignores it). */
  memory?: MemoryOptions;
  warn?: (message: string) => void;
  info?: (message: string) => void;
}

/** The images of the candidates still running. */
export interface GeneratorImages {
  /** `[k, 3, height, width]` in [-1, 1]. */
  images: FloatTensor;
  decoder: DecoderKind;
  /** The UNet slices and the VAE tiling used (generators that plan memory). */
  memory?: MemoryRecord;
}

/** One started batch. */
export interface ImageGeneration {
  /** Model calls in all (a multistep scheduler may add warm-up calls to the steps asked for). */
  readonly stepCount: number;
  /** Tokens of each candidate's context (prompt windows plus extra tokens). */
  readonly contextTokens: readonly number[];
  readonly scheduler: SchedulerRecord;
  /** The decoder of the final images and of the previews, and the default preview scale. */
  readonly decoders: { final: DecoderKind; preview: DecoderKind; previewScale: PreviewScale };
  /** Denoise up to step `until` (a count of model calls; default: to the end). */
  run(options?: { until?: number }): Promise<void>;
  /** x0 of the running candidates now, decoded (early search). */
  preview(): Promise<GeneratorPreview>;
  /** Go on with these candidates only (original indices; early search). */
  keep(indices: readonly number[]): void;
  /** Decode the running candidates (after `run` to the end). */
  finish(): Promise<GeneratorImages>;
}

export interface ImageGenerator {
  /** The model, as result.json records it. */
  readonly id: string;
  readonly capabilities: ImageGeneratorCapabilities;
  /** Condition the candidates and set up the denoising (seeded latents); nothing is denoised yet. */
  start(settings: GenerationSettings): Promise<ImageGeneration>;
  /** Release what it holds; calling it again does nothing. */
  close(): Promise<void>;
}
