/**
 * CLIP-T and CLIP-I on a CLIP model loaded through runtime/transformers-models.ts (`loadClip`).
 *
 * - CLIP-T (text alignment): the CLIPScore of Hessel et al. 2021 as torchmetrics computes it
 *   (torchmetrics/functional/multimodal/clip_score.py and multimodal/clip_score.py, unchanged since they were
 *   added in 2022): score_i = 100 * cos(E_image_i, E_text), then over a set max(mean_i score_i, 0): the clamp
 *   comes after the mean, not per image. One image alone is thus max(100 cos, 0); `clipTextScoreSet` gives
 *   both the per-image values and the set's value. Pass `clamp: false` for the raw 100*cos (the logit
 *   PMG's selection uses, method.md section 4).
 * - CLIP-I (image similarity) = cos(E_generated, E_reference), not scaled, not clamped.
 * Embeddings are the projected `text_embeds` / `image_embeds`; the cosine normalises them.
 * Images are preprocessed by the model's own preprocessor_config.json (resize + crop), so any sizes work.
 */
import type { RgbImage } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';
import type { ClipImageInput } from '../runtime/transformers-models.js';
import { cosine } from './image-batch.js';

/** What the CLIP metrics need from a CLIP model (runtime/transformers-models.ts ClipModel satisfies it). */
export interface ClipEmbedder {
  embedTexts(texts: readonly string[]): Promise<Float32Array[]>;
  embedImages(images: readonly ClipImageInput[]): Promise<Float32Array[]>;
}

/** CLIP-T of each image against one text (one batched image call, one text call). */
export async function clipTextScores(clip: ClipEmbedder, images: readonly RgbImage[], text: string, options: { clamp?: boolean } = {}): Promise<number[]> {
  const [embeds, [textEmbed]] = await Promise.all([clip.embedImages(images), clip.embedTexts([text])]);
  return embeds.map((e) => {
    const score = 100 * cosine(e, textEmbed!);
    return options.clamp === false ? score : Math.max(score, 0);
  });
}

/** torchmetrics' CLIPScore of a set from its raw per-pair scores (100 cos): max(mean, 0). */
export function clipScoreOfSet(rawScores: readonly number[]): number {
  if (rawScores.length === 0) throw new PmgError('invalid-argument', 'CLIP-T of an empty set of images');
  return Math.max(rawScores.reduce((a, b) => a + b, 0) / rawScores.length, 0);
}

/** Each image's CLIP-T against one text (max(100 cos, 0)) and the set's, torchmetrics' max(mean(100 cos), 0). */
export async function clipTextScoreSet(clip: ClipEmbedder, images: readonly RgbImage[], text: string): Promise<{ values: number[]; value: number }> {
  const raw = await clipTextScores(clip, images, text, { clamp: false });
  return { values: raw.map((score) => Math.max(score, 0)), value: clipScoreOfSet(raw) };
}

/** CLIP-I of the generated image against each reference (one batched call). */
export async function clipImageScores(clip: ClipEmbedder, generated: RgbImage, references: readonly RgbImage[]): Promise<number[]> {
  const [g, ...refs] = await clip.embedImages([generated, ...references]);
  return refs.map((r) => cosine(g!, r));
}
