/**
 * PMG's candidate scores (method.md 1.4): d_t = CLIP logit(image, target text) and d_p = CLIP logit(image,
 * preference text), logit = 100·cos(image embedding, text embedding), not clamped here (selection.ts clamps
 * non-positive logits to LOGIT_EPSILON before the log). The texts are described at `ScoringTexts`.
 * Batched: one CLIP image call for all candidates and one text call for both texts.
 */
import { cosineSimilarity } from '../core/cosine-similarity.js';
import { decodeImageRgb, type RgbImage } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';
import type { ClipImageInput } from '../runtime/transformers-models.js';

/** What scoring needs from a CLIP model (runtime/transformers-models.ts ClipModel satisfies it). */
export interface ClipScoringModel {
  embedTexts(texts: readonly string[]): Promise<Float32Array[]>;
  embedImages(images: readonly ClipImageInput[]): Promise<Float32Array[]>;
}

export interface CandidateScores {
  /** Preference logits, one per image. */
  dp: number[];
  /** Target logits, one per image. */
  dt: number[];
}

/**
 * The two texts a candidate is scored against (method.md 1.4): `target`, the target part of the generator prompt
 * exactly as the generator got it (conditioning.ts `targetPromptText`), and `preference`, the preference
 * keywords joined with ', ' (`keywordText`).
 */
export interface ScoringTexts {
  target: string;
  preference: string;
}

/** The preference text CLIP compares with: the keywords joined with ', '. */
export function keywordText(keywords: readonly string[]): string {
  return keywords
    .map((k) => k.trim())
    .filter(Boolean)
    .join(', ');
}

/** The CLIP logit: 100 · cos(image embedding, text embedding). */
export function clipLogit(image: Float32Array, text: Float32Array): number {
  if (image.length !== text.length)
    throw new PmgError('invalid-response', `CLIP image embedding has ${image.length} values but the text embedding ${text.length}`);
  return cosineSimilarity(image, text, 100);
}

/**
 * PNG bytes or 8-bit RGB images → CLIP inputs: 8-bit RGB, PNGs decoded as core/image-io.ts reads files
 * (transparent pixels composited over white); CLIP's own preprocessing follows in runtime/clip-inputs.ts.
 */
export function toClipImage(image: Buffer | RgbImage): Promise<RgbImage> {
  return Buffer.isBuffer(image) ? decodeImageRgb(image, 'candidate image') : Promise.resolve(image);
}

export async function scoreCandidates(clip: ClipScoringModel, images: readonly (Buffer | RgbImage)[], texts: ScoringTexts): Promise<CandidateScores> {
  if (images.length === 0) return { dp: [], dt: [] };
  const rgb = await Promise.all(images.map(toClipImage));
  const [imageEmbeds, textEmbeds] = await Promise.all([clip.embedImages(rgb), clip.embedTexts([texts.target, texts.preference])]);
  const [target, preference] = textEmbeds as [Float32Array, Float32Array];
  if (imageEmbeds.length !== images.length || !target || !preference) {
    throw new PmgError(
      'invalid-response',
      `CLIP returned ${imageEmbeds.length} image and ${textEmbeds.length} text embeddings for ${images.length} images and 2 texts`,
    );
  }
  return { dp: imageEmbeds.map((e) => clipLogit(e, preference)), dt: imageEmbeds.map((e) => clipLogit(e, target)) };
}
