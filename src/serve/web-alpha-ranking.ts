/**
 * The web app's α slider: the candidates of a finished job re-ranked by z = α·ln d_p + (1−α)·ln d_t for any α, and
 * the α values where the winner changes. It runs in the browser as compiled (served from dist/ at /app/lib/, so it
 * and what it imports must stay free of Node imports; web-routes.test.ts checks that) and uses the selection's own
 * `zScore` and `selectBest`, so the page picks exactly the candidate `pmg generate` would pick at that α.
 */
import { selectBest, zScore, type CandidateWeights } from '../scoring/selection.js';

export interface SliderCandidate {
  weights: CandidateWeights;
  dp: number;
  dt: number;
  /** False for candidates an early search dropped: they are shown but never chosen (default true). */
  finished?: boolean;
}

/** One stretch of α with one winner; `winner` is the candidate's index in the job. */
export interface AlphaSegment {
  from: number;
  to: number;
  winner: number;
}

/** Where the winner changes: at `alpha`, from candidate `from` (below) to candidate `to` (above). */
export interface AlphaBreakpoint {
  alpha: number;
  from: number;
  to: number;
}

/**
 * Candidate indices best first: z descending, ties to the lower preference weight, then target weight, then index
 * (personalize's rankByZ order), built by taking selectBest's winner among those left, so the rule lives in one place.
 */
export function rankCandidates(candidates: readonly SliderCandidate[], alpha: number): number[] {
  const left = candidates.map((_, i) => i);
  const order: number[] = [];
  while (left.length > 0) {
    const k = selectBest(
      left.map((i) => candidates[i]!),
      alpha,
    ).chosen;
    order.push(left.splice(k, 1)[0]!);
  }
  return order;
}

/** The chosen candidate at α: the best finished one, by selectBest's rule. */
export function winnerAt(candidates: readonly SliderCandidate[], alpha: number): number {
  const eligible = candidates.map((c, i) => ({ c, i })).filter(({ c }) => c.finished !== false);
  return eligible[
    selectBest(
      eligible.map(({ c }) => c),
      alpha,
    ).chosen
  ]!.i;
}

/**
 * The winner over α ∈ [0, 1] as segments. z_i is a line in α; two lines cross at
 * α = (b_j − b_i) / (s_i − s_j) with b = z(0) and s = z(1) − z(0). Between consecutive crossings the order is
 * fixed, so the winner is read once per stretch (at its middle), and neighbouring stretches with one winner merge.
 */
export function alphaSegments(candidates: readonly SliderCandidate[]): AlphaSegment[] {
  const eligible = candidates.filter((c) => c.finished !== false);
  const b = eligible.map((c) => zScore(c.dp, c.dt, 0));
  const s = eligible.map((c, i) => zScore(c.dp, c.dt, 1) - b[i]!);
  const cuts = new Set<number>();
  for (let i = 0; i < eligible.length; i++) {
    for (let j = i + 1; j < eligible.length; j++) {
      if (s[i] === s[j]) continue;
      const alpha = (b[j]! - b[i]!) / (s[i]! - s[j]!);
      if (alpha > 0 && alpha < 1) cuts.add(alpha);
    }
  }
  const edges = [0, ...[...cuts].sort((x, y) => x - y), 1];
  const segments: AlphaSegment[] = [];
  for (let k = 0; k + 1 < edges.length; k++) {
    const from = edges[k]!;
    const to = edges[k + 1]!;
    const winner = winnerAt(candidates, (from + to) / 2);
    const last = segments[segments.length - 1];
    if (last && last.winner === winner) last.to = to;
    else segments.push({ from, to, winner });
  }
  return segments;
}

export function alphaBreakpoints(candidates: readonly SliderCandidate[]): AlphaBreakpoint[] {
  const segments = alphaSegments(candidates);
  return segments.slice(1).map((segment, k) => ({ alpha: segment.from, from: segments[k]!.winner, to: segment.winner }));
}
