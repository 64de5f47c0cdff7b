/**
 * The candidate search (method.md, "Search"): which candidates to keep. `exhaustive` runs every candidate to the end;
 * `early` runs all of them to `earlyFraction` of the steps, scores their x0 previews, and finishes only the best
 * `earlyKeep` by z (selection.ts). personalize() runs the denoising; the decisions are here.
 */
import { zScore, type CandidateWeights } from './selection.js';

export type SearchStrategy = 'exhaustive' | 'early';
export const searchStrategies: readonly SearchStrategy[] = ['exhaustive', 'early'];

/** Candidate indices from best to worst z; ties go to the lower preference weight, then target weight, then index. */
export function rankByZ(candidates: readonly { weights: CandidateWeights; dp: number; dt: number }[], alpha: number): number[] {
  const z = candidates.map((c) => zScore(c.dp, c.dt, alpha));
  return candidates
    .map((_, i) => i)
    .sort(
      (a, b) =>
        z[b]! - z[a]! ||
        candidates[a]!.weights.preference - candidates[b]!.weights.preference ||
        candidates[a]!.weights.target - candidates[b]!.weights.target ||
        a - b,
    );
}

export interface EarlySearchPlan {
  /** Denoising steps every candidate runs before the previews are scored (1 ≤ earlySteps < totalSteps). */
  earlySteps: number;
  /** How many candidates are finished. */
  keep: number;
}

/**
 * Whether an early search happens and where: only with `early`, fewer candidates kept than there are, and more than
 * one step; otherwise undefined (every candidate runs to the end).
 */
export function earlySearchPlan(options: {
  search: SearchStrategy;
  earlyFraction: number;
  earlyKeep: number;
  candidates: number;
  totalSteps: number;
}): EarlySearchPlan | undefined {
  const keep = Math.min(options.earlyKeep, options.candidates);
  if (options.search !== 'early' || keep >= options.candidates || options.totalSteps <= 1) return undefined;
  const earlySteps = Math.min(options.totalSteps - 1, Math.max(1, Math.round(options.earlyFraction * options.totalSteps)));
  return { earlySteps, keep };
}

/** The `keep` best candidates by z (rankByZ), in index order: the ones an early search finishes. */
export function keepBest(candidates: readonly { weights: CandidateWeights; dp: number; dt: number }[], alpha: number, keep: number): number[] {
  return rankByZ(candidates, alpha)
    .slice(0, keep)
    .sort((a, b) => a - b);
}
