/**
 * The browser tests' own reading of a job's scores: where the α slider's winner must change and who wins at an α,
 * from d_p and d_t alone (z = α·ln d_p + (1−α)·ln d_t is a line in α per candidate), to check what the page shows.
 */
import { selectBest, zScore } from '../scoring/selection.js';

export interface ScoredCandidate {
  weights: { preference: number; target: number };
  dp: number;
  dt: number;
  z: number;
  finished: boolean;
}
export interface ScoredResult {
  alpha: number;
  chosen: number;
  candidates: ScoredCandidate[];
}

/** The winner at α, by the selection's own selectBest over the finished candidates (an index into all of them). */
export function expectedWinner(candidates: ScoredCandidate[], alpha: number): number {
  const finished = candidates.map((c, i) => ({ c, i })).filter(({ c }) => c.finished);
  return finished[
    selectBest(
      finished.map(({ c }) => c),
      alpha,
    ).chosen
  ]!.i;
}
/** The α in (0, 1) where two finished candidates' z lines cross (where the winner may change), ascending. */
export function crossings(candidates: ScoredCandidate[]): number[] {
  const out: number[] = [];
  const finished = candidates.filter((c) => c.finished);
  for (let i = 0; i < finished.length; i++)
    for (let j = i + 1; j < finished.length; j++) {
      const [a, b] = [finished[i]!, finished[j]!];
      // α ln dp_a + (1−α) ln dt_a = α ln dp_b + (1−α) ln dt_b
      const ta = zScore(a.dp, a.dt, 0);
      const tb = zScore(b.dp, b.dt, 0);
      const sa = zScore(a.dp, a.dt, 1) - ta;
      const sb = zScore(b.dp, b.dt, 1) - tb;
      if (sa !== sb) {
        const alpha = (tb - ta) / (sa - sb);
        if (alpha > 0 && alpha < 1) out.push(alpha);
      }
    }
  return out.sort((x, y) => x - y);
}
