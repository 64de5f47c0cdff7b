import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seedFor, slidingWindows, splitEightOneOne } from './protocol.js';

test('sliding windows are 5 history + 1 target, stride 1', () => {
  assert.deepEqual(slidingWindows([1, 2, 3, 4, 5]), []);
  assert.deepEqual(slidingWindows([1, 2, 3, 4, 5, 6, 7]), [
    { start: 0, history: [1, 2, 3, 4, 5], target: 6 },
    { start: 1, history: [2, 3, 4, 5, 6], target: 7 },
  ]);
});

test('8:1:1 split: sizes, determinism under a seed, independent of input order', () => {
  const ids = Array.from({ length: 105 }, (_, i) => `s${i}`);
  const a = splitEightOneOne(ids, 7);
  const count = (m: Map<string, string>, part: string) => [...m.values()].filter((v) => v === part).length;
  assert.deepEqual([count(a, 'train'), count(a, 'val'), count(a, 'test')], [84, 10, 11]);
  assert.deepEqual([...splitEightOneOne([...ids].reverse(), 7)].sort(), [...a].sort());
  const b = splitEightOneOne(ids, 8);
  assert.notDeepEqual([...b].sort(), [...a].sort());
  assert.notEqual(seedFor(0, 'u1'), seedFor(0, 'u2'));
  assert.notEqual(seedFor(0, 'u1'), seedFor(1, 'u1'));
});
