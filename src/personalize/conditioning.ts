/**
 * Conditioning with a preference weight (method.md 1.4): how each candidate's generator prompt is built
 * from the target keywords, the preference keywords and a weight.
 *
 * - `repeat` (the official code): `<scene prefix>, <target kws>, <preference kws> x w` as ONE prompt; the
 *   diffusion pipeline encodes it in 77-token chunks so the repeats are never cut off.
 * - `embed` (continuous): the target part and the preference part are separate spans, encoded separately and
 *   scaled by w_t and w_p before they are joined on the token axis.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { Scene } from '../spec/behaviour.js';
import type { CandidateWeights } from '../scoring/selection.js';
import { promptStyles, type PromptStyle } from './prompt-styles.js';

export type ConditioningMode = 'repeat' | 'embed';

/** One span of the generator prompt and the factor its embeddings are scaled by. */
export interface PromptSpan {
  text: string;
  weight: number;
}

export interface CandidatePlan {
  weights: CandidateWeights;
  /** The whole prompt as text (what `repeat` mode encodes; in `embed` mode the spans joined, for display). */
  prompt: string;
  /** Spans to encode separately (`embed`), or the single prompt with weight 1 (`repeat`). */
  spans: PromptSpan[];
  negative: string;
}

export interface ConditioningInput {
  scene: Scene;
  mode: ConditioningMode;
  /** Target item title (movie posters name it). */
  title?: string;
  targetKeywords: readonly string[];
  preferenceKeywords: readonly string[];
  /** Preference weights: repeat counts (integers >= 0) for `repeat`, w_p for `embed`. Default per scene. */
  weights?: readonly number[];
  /** w_t in `embed` mode (default 1). */
  targetWeight?: number;
  /** Overrides the scene's negative prompt. */
  negative?: string;
  /** The negative prompts and sticker prefix to use (default: pmg's own, prompt-styles.ts). */
  style?: PromptStyle;
}

/** Official candidate weights per scene (method.md 1.4). */
export const defaultRepeatWeights: Record<Scene, number[]> = { movie: [1, 2], fashion: [2, 3], sticker: [1] };
/** The w_p grid of `embed` mode. */
export const defaultEmbedWeights: number[] = [0.5, 1, 1.5];
/** How many target keywords go into the prompt (the first five, method.md 1.2). */
export const TARGET_KEYWORDS_USED = 5;

/** pmg's own negative prompts (the `pmg` prompt style); the `official` style has the authors' lists. */
export const negativePrompts: Readonly<Record<Scene, string>> = promptStyles.pmg.negative;

/** The fixed words a scene's generator prompt starts with. */
export function scenePrefix(scene: Scene, title?: string, style: PromptStyle = promptStyles.pmg): string {
  if (scene === 'movie') {
    const name = (title ?? '').trim();
    return name ? `movie poster, ${name}, named '${name}'` : 'movie poster';
  }
  return scene === 'fashion' ? 'costume' : style.stickerPrefix;
}

/**
 * The target part of the generator prompt exactly as the generator gets it: the scene prefix and the first five
 * target keywords (movie: `movie poster, <title>, named '<title>', kw1..kw5`). d_t is scored against this text.
 */
export function targetPromptText(input: Pick<ConditioningInput, 'scene' | 'title' | 'targetKeywords' | 'style'>): string {
  return [scenePrefix(input.scene, input.title, input.style), ...input.targetKeywords.slice(0, TARGET_KEYWORDS_USED)].filter(Boolean).join(', ');
}

export function checkWeights(weights: readonly number[], mode: ConditioningMode): void {
  if (weights.length === 0)
    throw new PmgError('invalid-argument', 'weights: the list is empty; give at least one weight, e.g. 1,2', { details: { field: 'weights' } });
  for (const w of weights) {
    if (!Number.isFinite(w) || w < 0) throw new PmgError('invalid-argument', `weights: ${w} is not allowed; weights must be numbers >= 0`);
    if (mode === 'repeat' && !Number.isInteger(w)) {
      throw new PmgError(
        'invalid-argument',
        `weights: ${w} is not a whole number; in repeat mode a weight is how many times the preference keywords are repeated (use mode embed for fractional weights)`,
        { details: { field: 'weights' } },
      );
    }
    if (mode === 'repeat' && w > 10) throw new PmgError('invalid-argument', `weights: ${w} repeats is too many (at most 10)`);
  }
}

/** One plan per weight, in the order given. */
export function planCandidates(input: ConditioningInput): CandidatePlan[] {
  const weights = input.weights ?? (input.mode === 'repeat' ? defaultRepeatWeights[input.scene] : defaultEmbedWeights);
  checkWeights(weights, input.mode);
  const targetWeight = input.targetWeight ?? 1;
  if (!Number.isFinite(targetWeight) || targetWeight < 0) throw new PmgError('invalid-argument', `target weight must be >= 0, got ${targetWeight}`);
  const target = targetPromptText(input);
  const preference = input.preferenceKeywords.join(', ');
  const negative = input.negative ?? (input.style ?? promptStyles.pmg).negative[input.scene];
  return weights.map((w) => {
    if (input.mode === 'repeat') {
      const prompt = [target, ...Array.from({ length: w }, () => preference)].filter(Boolean).join(', ');
      return { weights: { preference: w, target: 1 }, prompt, spans: [{ text: prompt, weight: 1 }], negative };
    }
    const spans = [{ text: target, weight: targetWeight }, ...(preference ? [{ text: preference, weight: w }] : [])];
    return { weights: { preference: w, target: targetWeight }, prompt: spans.map((s) => s.text).join(', '), spans, negative };
  });
}
