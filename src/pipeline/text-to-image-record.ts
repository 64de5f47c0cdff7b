/**
 * The generation record of a text-to-image run (generation-record.ts), from the settings asked for and what the run
 * reports (scheduler, decoder, VAE tiles, memory plan). `pmg txt2img` and the job service's txt2img jobs (the A1111
 * route) both record their images with it, so the two records cannot drift apart.
 */
import { generationRecord, type GenerationRecord, type ImageRecord } from './generation-record.js';
import type { TextToImageResult } from './text-to-image.js';
import { vaeTilesRecord } from './vae-tiling-plan.js';

/** The settings asked for, as the record names them (`eta` is recorded only when > 0 with DDIM). */
export interface TextToImageRecordInput extends Pick<GenerationRecord, 'prompt' | 'negativePrompt' | 'steps' | 'guidanceScale' | 'width' | 'height' | 'eta'> {
  /** The Stable Diffusion model's id, and the tiny decoder's when one was loaded. */
  modelId: string;
  tinyDecoderId?: string;
  result: Pick<TextToImageResult, 'scheduler' | 'decoder' | 'memory'>;
  /** ms per stage, as the caller reports them (the run's own, plus load and total). */
  timings: Record<string, number>;
  images: ImageRecord[];
}

export function textToImageRecord(input: TextToImageRecordInput): GenerationRecord {
  const { result } = input;
  return generationRecord({
    model: input.modelId,
    prompt: input.prompt,
    negativePrompt: input.negativePrompt,
    steps: input.steps,
    guidanceScale: input.guidanceScale,
    width: input.width,
    height: input.height,
    ...(input.eta !== undefined && input.eta > 0 && result.scheduler.name === 'ddim' ? { eta: input.eta } : {}),
    scheduler: result.scheduler,
    decoder: { kind: result.decoder, model: result.decoder === 'tiny' && input.tinyDecoderId ? input.tinyDecoderId : input.modelId },
    ...vaeTilesRecord(result.memory.vae),
    timings: input.timings,
    memory: result.memory,
    images: input.images,
  });
}
