/**
 * PMG's choice among candidates (method.md 1.4): z = α·log d_p + (1−α)·log d_t, the winner has the largest z.
 * d_p and d_t are CLIP logits (100·cosine); a non-positive (or non-finite) logit is clamped to LOGIT_EPSILON
 * before the log, so a candidate CLIP finds unrelated scores very low instead of NaN.
 */
import { PmgError } from '../errors/pmg-error.js';

/** The floor for d_p and d_t before the log (CLIP logits of real matches are ~15–40). */
export const LOGIT_EPSILON = 1e-4;
/** The official α (method.md 1.4). */
export const DEFAULT_ALPHA = 2 / 3;

export interface CandidateWeights {
  /** Weight of the preference part (repeat count in `repeat` mode, w_p in `embed` mode). */
  preference: number;
  /** Weight of the target part (1 in `repeat` mode). */
  target: number;
}

export interface ScoredCandidate {
  weights: CandidateWeights;
  dp: number;
  dt: number;
}

export function checkAlpha(alpha: number, field = 'alpha'): number {
  if (!Number.isFinite(alpha) || alpha < 0 || alpha > 1) {
    throw new PmgError('invalid-argument', `${field} must be a number between 0 and 1, got ${alpha}`, { details: { field } });
  }
  return alpha;
}

export function zScore(dp: number, dt: number, alpha: number): number {
  return alpha * Math.log(clampLogit(dp)) + (1 - alpha) * Math.log(clampLogit(dt));
}

export function clampLogit(logit: number): number {
  return Number.isFinite(logit) && logit > LOGIT_EPSILON ? logit : LOGIT_EPSILON;
}

/**
 * Index of the candidate with the largest z. Ties (equal z) go to the lower preference weight,
 * then the lower target weight, then the earlier candidate.
 */
export function selectBest(candidates: readonly ScoredCandidate[], alpha: number): { chosen: number; z: number[] } {
  if (candidates.length === 0) throw new PmgError('invalid-argument', 'there are no candidates to choose from');
  checkAlpha(alpha);
  const z = candidates.map((c) => zScore(c.dp, c.dt, alpha));
  let chosen = 0;
  for (let i = 1; i < candidates.length; i++) {
    const a = candidates[i]!;
    const b = candidates[chosen]!;
    if (z[i]! > z[chosen]!) chosen = i;
    else if (z[i] === z[chosen]) {
      const lower = a.weights.preference < b.weights.preference || (a.weights.preference === b.weights.preference && a.weights.target < b.weights.target);
      if (lower) chosen = i;
    }
  }
  return { chosen, z };
}
