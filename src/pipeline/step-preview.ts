/**
 * Live step previews: while the denoising runs, every `every`-th step's predicted clean latents x0 of the running
 * candidates are decoded and handed to a callback (a UI shows them, `--previews DIR` writes them). The tiny
 * autoencoder decodes them at full size whenever one is loaded; without one the VAE decodes 2x2-pooled x0
 * (latent-preview.ts). The last step is not previewed: the final image follows it.
 */
import type { GeneratorPreview } from '../spec/image-generator.js';
import { PmgError } from '../errors/pmg-error.js';
import type { StepEvent } from './denoise-state.js';
import { decodePreviewWith, type PreviewDecoders, type PreviewScale } from './latent-preview.js';

/** One live preview: the decoded x0 of the running candidates after a step. */
export type StepPreview = GeneratorPreview;

export type PreviewCallback = (preview: StepPreview) => void | Promise<void>;

export interface LivePreviewOptions {
  decoders: PreviewDecoders;
  onPreview: PreviewCallback;
  /** Preview every this many steps (default 1). */
  every?: number;
  /** Pooling scale (default: the preview decoder's: 1 for a tiny decoder, 2 for the VAE). */
  scale?: PreviewScale;
  signal?: AbortSignal;
  /** Asked at each due step: false skips that preview (nobody watches), at no decode cost. Default: always. */
  wanted?: () => boolean;
  /** Receives the ms spent decoding each preview (for the caller's timings). */
  onTime?: (ms: number) => void;
}

export function checkPreviewEvery(every: number, what = 'preview every'): number {
  if (!Number.isInteger(every) || every < 1)
    throw new PmgError('invalid-argument', `${what} must be a whole number >= 1, got ${every}`, { details: { field: 'previewEvery' } });
  return every;
}

/** An onStep hook that previews every `every`-th requested step (warm-up calls and the last step excluded). */
export function livePreviewHook(options: LivePreviewOptions): (event: StepEvent) => Promise<void> {
  const every = checkPreviewEvery(options.every ?? 1);
  let lastShown = 0;
  return async (event) => {
    const due = event.stepsDone > 0 && event.stepsDone % every === 0 && event.stepsDone !== lastShown;
    if (!due || event.step >= event.stepCount - 1 || options.wanted?.() === false) return;
    lastShown = event.stepsDone;
    const started = performance.now();
    const preview = await decodePreviewWith(options.decoders, event.predictedOriginal(), {
      ...(options.scale ? { scale: options.scale } : {}),
      signal: options.signal,
    });
    options.onTime?.(performance.now() - started);
    await options.onPreview({
      stepsDone: event.stepsDone,
      requestedSteps: event.requestedSteps,
      step: event.step,
      candidates: event.candidates,
      images: preview.images,
      decoder: preview.decoder,
      scale: preview.scale,
    });
  };
}
