import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../core/random.js';
import { rankByZ } from '../personalize/personalize.js';
import { selectBest } from '../scoring/selection.js';
import { alphaBreakpoints, alphaSegments, rankCandidates, winnerAt, type SliderCandidate } from './web-alpha-ranking.js';

function randomCandidates(random: SeededRandom, n: number, coarse: boolean): SliderCandidate[] {
  // Coarse scores (a few distinct values, some non-positive) make ties and clamped logits common.
  const score = () => (coarse ? [0, -3, 12, 20, 20, 31][Math.floor(random.nextFloat() * 6)]! : 5 + 35 * random.nextFloat());
  return Array.from({ length: n }, () => ({
    weights: { preference: Math.floor(random.nextFloat() * 4), target: coarse ? Math.floor(random.nextFloat() * 2) + 1 : 1 },
    dp: score(),
    dt: score(),
  }));
}

test('rankCandidates orders exactly as personalize rankByZ, ties included, on random scores', () => {
  const random = new SeededRandom(13);
  for (let trial = 0; trial < 400; trial++) {
    const candidates = randomCandidates(random, 1 + Math.floor(random.nextFloat() * 8), trial % 2 === 0);
    const alpha = trial % 5 === 0 ? [0, 1, 2 / 3, 0.5, 0.25][trial % 5]! : random.nextFloat();
    assert.deepEqual(rankCandidates(candidates, alpha), rankByZ(candidates, alpha), `trial ${trial}`);
  }
});

test('winnerAt is selectBest among finished candidates, by their index in the job', () => {
  const random = new SeededRandom(7);
  for (let trial = 0; trial < 200; trial++) {
    const candidates = randomCandidates(random, 2 + Math.floor(random.nextFloat() * 6), trial % 2 === 0).map((c, i) => ({ ...c, finished: i % 3 !== 1 }));
    const alpha = random.nextFloat();
    const finished = candidates.map((_, i) => i).filter((i) => candidates[i]!.finished);
    const want =
      finished[
        selectBest(
          finished.map((i) => candidates[i]!),
          alpha,
        ).chosen
      ];
    assert.equal(winnerAt(candidates, alpha), want, `trial ${trial}`);
  }
});

test('segments cover [0, 1]; the winner inside each is selectBest at any α there; it changes at each breakpoint', () => {
  const random = new SeededRandom(21);
  let changes = 0;
  for (let trial = 0; trial < 150; trial++) {
    const candidates = randomCandidates(random, 2 + Math.floor(random.nextFloat() * 6), trial % 3 === 0);
    const segments = alphaSegments(candidates);
    assert.equal(segments[0]!.from, 0);
    assert.equal(segments[segments.length - 1]!.to, 1);
    for (let k = 0; k < segments.length; k++) {
      const { from, to, winner } = segments[k]!;
      assert.ok(from < to);
      if (k > 0) assert.equal(from, segments[k - 1]!.to);
      if (k > 0) assert.notEqual(winner, segments[k - 1]!.winner);
      for (const t of [0.001, 0.25, 0.5, 0.75, 0.999]) {
        const alpha = from + t * (to - from);
        if (alpha - from < 1e-9 || to - alpha < 1e-9) continue;
        assert.equal(winner, winnerAt(candidates, alpha), `trial ${trial} α=${alpha}`);
      }
    }
    const breakpoints = alphaBreakpoints(candidates);
    assert.equal(breakpoints.length, segments.length - 1);
    for (const { alpha, from, to } of breakpoints) {
      if (alpha < 1e-8 || alpha > 1 - 1e-8) continue;
      assert.equal(winnerAt(candidates, alpha - 1e-9), from);
      assert.equal(winnerAt(candidates, alpha + 1e-9), to);
      changes++;
    }
  }
  assert.ok(changes > 20, `random scores produced ${changes} winner changes`);
});

test('two candidates: the breakpoint is where α·ln d_p + (1−α)·ln d_t are equal', () => {
  const candidates = [
    { weights: { preference: 0, target: 1 }, dp: 10, dt: 30 },
    { weights: { preference: 2, target: 1 }, dp: 25, dt: 20 },
  ];
  // α ln10 + (1−α) ln30 = α ln25 + (1−α) ln20  →  α = ln(30/20) / (ln(30/20) + ln(25/10))
  const alpha = Math.log(1.5) / (Math.log(1.5) + Math.log(2.5));
  const [only] = alphaBreakpoints(candidates);
  assert.ok(Math.abs(only!.alpha - alpha) < 1e-12);
  assert.deepEqual([only!.from, only!.to], [0, 1]);
  // An unfinished candidate never wins, so it makes no breakpoint.
  assert.deepEqual(alphaBreakpoints([candidates[0]!, { ...candidates[1]!, finished: false }]), []);
});
