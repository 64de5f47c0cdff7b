import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { planCandidates } from './conditioning.js';

const base = { targetKeywords: ['space', 'stars', 'astronaut', 'blue', 'epic', 'sixth'], preferenceKeywords: ['noir', 'neon'] };

test('repeat mode: official prompt with the preference keywords repeated w times', () => {
  const plans = planCandidates({ ...base, scene: 'movie', mode: 'repeat', title: 'Interstellar (2014)' });
  assert.deepEqual(
    plans.map((p) => p.weights.preference),
    [1, 2],
  );
  assert.equal(plans[0]!.prompt, "movie poster, Interstellar (2014), named 'Interstellar (2014)', space, stars, astronaut, blue, epic, noir, neon");
  assert.equal(plans[1]!.prompt, "movie poster, Interstellar (2014), named 'Interstellar (2014)', space, stars, astronaut, blue, epic, noir, neon, noir, neon");
  assert.ok(!plans[0]!.prompt.includes('sixth'), 'only the first five target keywords are used');
  assert.match(plans[0]!.negative, /low quality/);
});

test('scene defaults: fashion {2,3} with the costume prefix, sticker {1} with the sticker phrase', () => {
  const fashion = planCandidates({ ...base, scene: 'fashion', mode: 'repeat' });
  assert.deepEqual(
    fashion.map((p) => p.weights.preference),
    [2, 3],
  );
  assert.ok(fashion[0]!.prompt.startsWith('costume, space'));
  const sticker = planCandidates({ ...base, scene: 'sticker', mode: 'repeat' });
  assert.equal(sticker.length, 1);
  assert.ok(sticker[0]!.prompt.startsWith('cute emoji sticker, white background'));
});

test('embed mode: separate spans scaled by w_t and w_p', () => {
  const plans = planCandidates({ ...base, scene: 'movie', mode: 'embed', title: 'Up', weights: [0.5, 1.25], targetWeight: 0.9 });
  assert.equal(plans.length, 2);
  assert.deepEqual(
    plans[1]!.spans.map((s) => s.weight),
    [0.9, 1.25],
  );
  assert.equal(plans[1]!.spans[1]!.text, 'noir, neon');
  assert.deepEqual(plans[1]!.weights, { preference: 1.25, target: 0.9 });
});

test('bad weights are clear errors', () => {
  for (const weights of [[], [-1], [1.5]]) {
    assert.throws(
      () => planCandidates({ ...base, scene: 'movie', mode: 'repeat', weights }),
      (e: unknown) => e instanceof PmgError && e.code === 'invalid-argument' && /weights/.test(e.message),
    );
  }
});
