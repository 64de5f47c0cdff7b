/**
 * The ImageGenerator (spec/image-generator.ts) of an ONNX Stable Diffusion model, with its tiny autoencoder
 * decoder (TAESD) when one is loaded: the diffusion pipeline's stages (pipeline/text-to-image.ts prepareDenoise,
 * DenoiseState, decodeLatents) behind the interface. It can do everything the interface describes: both
 * conditioning modes, soft tokens of its text width, live and early-search x0 previews (the tiny decoder at full
 * size whenever there is one, else the VAE on pooled x0), initial latents, every scheduler, the VAE or the tiny
 * decoder for the final images (the VAE tiled under a memory budget).
 */
import { schedulerNames } from '../../schedulers/index.js';
import type { DenoiseState, StepEvent } from '../../pipeline/denoise-state.js';
import { decodePreviewWith, previewDecoder, type PreviewDecoders } from '../../pipeline/latent-preview.js';
import { decoderForMemory } from '../../pipeline/memory-plan.js';
import { livePreviewHook, type StepPreview } from '../../pipeline/step-preview.js';
import { decodeLatents, finalDecoderOf } from '../../pipeline/decode-latents.js';
import { prepareDenoise } from '../../pipeline/text-to-image.js';
import { PmgError } from '../../errors/pmg-error.js';
import { loadStableDiffusion, type LoadStableDiffusionOptions } from './onnx-stable-diffusion.js';
import { loadTinyDecoder } from './tiny-decoder.js';
import type { DecoderKind, StableDiffusionModel, TinyDecoderModel, VaeDecoder } from '../../spec/diffusion-models.js';
import type {
  GenerationSettings,
  GeneratorImages,
  GeneratorPreview,
  GeneratorStep,
  ImageGeneration,
  ImageGenerator,
  ImageGeneratorCapabilities,
} from '../../spec/image-generator.js';

export interface OnnxImageGeneratorOptions {
  sd: StableDiffusionModel;
  /** The tiny autoencoder decoder: previews always, final images when asked. */
  tiny?: TinyDecoderModel;
  /** The final decoder when a generation names none (default 'vae'). */
  finalDecoder?: DecoderKind;
  /** Releases the models (default: nothing; a model set releases its own). */
  close?: () => Promise<void>;
}

export interface LoadOnnxImageGeneratorOptions extends LoadStableDiffusionOptions {
  /** A tiny autoencoder decoder to load with it (folder or hub id). */
  tinyDecoder?: string;
  finalDecoder?: DecoderKind;
}

/** The registry's `onnx:` image generator: a diffusers ONNX Stable Diffusion folder or hub id, and its tiny decoder when named. */
export async function loadOnnxImageGenerator(spec: string, options: LoadOnnxImageGeneratorOptions = {}): Promise<OnnxImageGenerator> {
  const sd = await loadStableDiffusion(spec, options);
  const tiny = options.tinyDecoder
    ? await loadTinyDecoder(options.tinyDecoder, {
        ...(options.resolve ? { resolve: options.resolve } : {}),
        ...(options.pool ? { pool: options.pool } : {}),
        ...(options.device ? { device: options.device } : {}),
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
      })
    : undefined;
  return new OnnxImageGenerator({ sd, ...(tiny ? { tiny } : {}), ...(options.finalDecoder ? { finalDecoder: options.finalDecoder } : {}) });
}

export class OnnxImageGenerator implements ImageGenerator {
  readonly id: string;
  readonly capabilities: ImageGeneratorCapabilities;
  /** The models it runs (a model set keeps them as its `sd` and `decoder`). */
  readonly sd: StableDiffusionModel;
  readonly tiny: TinyDecoderModel | undefined;
  private closed: Promise<void> | undefined;

  constructor(private readonly options: OnnxImageGeneratorOptions) {
    this.id = options.sd.id;
    this.sd = options.sd;
    this.tiny = options.tiny;
    this.capabilities = {
      conditioning: ['repeat', 'embed'],
      softTokens: { width: options.sd.textEncoder.hiddenSize },
      previews: true,
      earlySearch: true,
      negative: true,
      latents: true,
      schedulers: schedulerNames,
      decoders: options.tiny ? ['vae', 'tiny'] : ['vae'],
    };
  }

  async start(settings: GenerationSettings): Promise<ImageGeneration> {
    if (this.closed) throw new PmgError('invalid-argument', `the image generator ${this.id} is closed; load the models again`);
    const { sd, tiny } = this.options;
    const finalKind = settings.finalDecoder ?? this.options.finalDecoder ?? 'vae';
    const finalDecoder = finalDecoderOf(sd.vaeDecoder, tiny?.decoder, finalKind);
    const state = await prepareDenoise(sd, {
      candidates: [...settings.candidates],
      seeds: [...settings.seeds],
      steps: settings.steps,
      guidanceScale: settings.guidance,
      width: settings.width,
      height: settings.height,
      scheduler: settings.scheduler,
      ...(settings.timestepSpacing ? { timestepSpacing: settings.timestepSpacing } : {}),
      ...(settings.latents ? { latents: settings.latents } : {}),
      signal: settings.signal,
      warn: settings.warn,
      ...(settings.memory ? { memory: settings.memory } : {}),
      ...(settings.info ? { info: settings.info } : {}),
    });
    return new OnnxImageGeneration(state, settings, { vae: sd.vaeDecoder, ...(tiny ? { tiny: tiny.decoder } : {}) }, finalKind, finalDecoder);
  }

  close(): Promise<void> {
    this.closed ??= this.options.close?.() ?? Promise.resolve();
    return this.closed;
  }
}

class OnnxImageGeneration implements ImageGeneration {
  readonly decoders: ImageGeneration['decoders'];
  private readonly live: ((event: StepEvent) => Promise<void>) | undefined;
  private lastLive: StepPreview | undefined;
  private lastStep: GeneratorStep | undefined;

  constructor(
    private readonly state: DenoiseState,
    private readonly settings: GenerationSettings,
    private readonly previewDecoders: PreviewDecoders,
    private readonly finalKind: DecoderKind,
    private readonly finalDecoder: VaeDecoder,
  ) {
    const preview = previewDecoder(previewDecoders);
    this.decoders = { final: finalKind, preview: preview.kind, previewScale: preview.defaultScale };
    const onPreview = settings.onPreview;
    this.live = onPreview
      ? livePreviewHook({
          decoders: previewDecoders,
          onPreview: (shown) => {
            this.lastLive = shown;
            return onPreview(shown);
          },
          ...(settings.previewEvery !== undefined ? { every: settings.previewEvery } : {}),
          ...(settings.previewWanted ? { wanted: settings.previewWanted } : {}),
          ...(settings.previewScale ? { scale: settings.previewScale } : {}),
          signal: settings.signal,
          ...(settings.onPreviewTime ? { onTime: settings.onPreviewTime } : {}),
        })
      : undefined;
  }

  get stepCount(): number {
    return this.state.stepCount;
  }

  get contextTokens(): readonly number[] {
    return this.state.contextTokens;
  }

  get scheduler(): ImageGeneration['scheduler'] {
    return this.state.schedulerRecord;
  }

  async run(options: { until?: number } = {}): Promise<void> {
    await this.state.run({
      ...(options.until !== undefined ? { until: options.until } : {}),
      signal: this.settings.signal,
      onStep: async (event) => {
        this.lastStep = { stepsDone: event.stepsDone, requestedSteps: event.requestedSteps, step: event.step, stepCount: event.stepCount };
        await this.settings.onStep?.(this.lastStep);
        await this.live?.(event);
      },
    });
  }

  async preview(): Promise<GeneratorPreview> {
    // A live preview of this very step (same decoder, same scale, every running candidate) is not decoded twice.
    const step = this.state.step - 1;
    if (this.lastLive?.step === step) return this.lastLive;
    const decoded = await decodePreviewWith(this.previewDecoders, this.state.predictedOriginal(), {
      ...(this.settings.previewScale ? { scale: this.settings.previewScale } : {}),
      signal: this.settings.signal,
    });
    return {
      stepsDone: this.lastStep?.stepsDone ?? 0,
      requestedSteps: this.lastStep?.requestedSteps ?? this.settings.steps,
      step,
      candidates: this.state.candidates,
      ...decoded,
    };
  }

  keep(indices: readonly number[]): void {
    this.state.keep(indices);
  }

  async finish(): Promise<GeneratorImages> {
    const latents = this.state.latents();
    // The VAE may decode in tiles under the memory budget; a tiny decoder is small enough to decode whole.
    const chosen =
      this.finalKind === 'vae'
        ? decoderForMemory(this.finalDecoder, latents.dims[2]!, latents.dims[3]!, this.settings.memory, this.settings.info)
        : { decoder: this.finalDecoder, plan: undefined };
    const images = await decodeLatents(chosen.decoder, latents, this.settings.signal);
    return { images, decoder: this.finalKind, memory: { unet: this.state.slicePlan, ...(chosen.plan ? { vae: chosen.plan } : {}) } };
  }
}
