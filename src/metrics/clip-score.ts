/**
 * CLIP-T and CLIP-I on a CLIP model loaded through runtime/transformers-models.ts (`loadClip`).
 *
 * - CLIP-T (text alignment) = max(100 * cos(E_image, E_text), 0): the CLIPScore convention of
 *   Hessel et al. 2021 as torchmetrics computes it (scale 100, clamped at 0). Pass `clamp: false`
 *   for the raw 100*cos (the logit PMG's selection uses, method.md section 4).
 * - CLIP-I (image similarity) = cos(E_generated, E_reference), not scaled, not clamped.
 * Embeddings are the projected `text_embeds` / `image_embeds`; the cosine normalises them.
 * Images are preprocessed by the model's own preprocessor_config.json (resize + crop), so any sizes work.
 */
import type { RgbImage } from '../core/image-io.js';
import { RawImage, type ImageInput } from '../runtime/transformers-models.js';
import { cosine } from './image-batch.js';

/** What the CLIP metrics need from a CLIP model (runtime/transformers-models.ts ClipModel satisfies it). */
export interface ClipEmbedder {
  embedTexts(texts: readonly string[]): Promise<Float32Array[]>;
  embedImages(images: readonly ImageInput[]): Promise<Float32Array[]>;
}

export function toRawImage(image: RgbImage): RawImage {
  return new RawImage(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength), image.width, image.height, 3);
}

/** CLIP-T of each image against one text (one batched image call, one text call). */
export async function clipTextScores(clip: ClipEmbedder, images: readonly RgbImage[], text: string, options: { clamp?: boolean } = {}): Promise<number[]> {
  const [embeds, [textEmbed]] = await Promise.all([clip.embedImages(images.map(toRawImage)), clip.embedTexts([text])]);
  return embeds.map((e) => {
    const score = 100 * cosine(e, textEmbed!);
    return options.clamp === false ? score : Math.max(score, 0);
  });
}

/** CLIP-I of the generated image against each reference (one batched call). */
export async function clipImageScores(clip: ClipEmbedder, generated: RgbImage, references: readonly RgbImage[]): Promise<number[]> {
  const [g, ...refs] = await clip.embedImages([generated, ...references].map(toRawImage));
  return refs.map((r) => cosine(g!, r));
}
