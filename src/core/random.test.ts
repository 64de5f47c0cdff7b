import assert from 'node:assert/strict';
import { test } from 'node:test';
import reference from './reference/random.json' with { type: 'json' };
import { SeededRandom } from './random.js';

test('draws equal the independent Python implementation (scripts/reference/random.py), so a seed means the same noise everywhere', () => {
  for (const c of reference.cases) {
    const ints = new SeededRandom(c.seed);
    assert.deepEqual(
      Array.from({ length: c.uint32.length }, () => ints.nextUint32()),
      c.uint32,
      `uint32 draws for seed ${c.seed}`,
    );
    const gauss = new SeededRandom(c.seed);
    c.gaussian.forEach((expected, i) => {
      const value = gauss.nextGaussian();
      assert.ok(Math.abs(value - expected) < 1e-12, `gaussian ${i} for seed ${c.seed}: ${value} vs ${expected}`);
    });
  }
});

test('fillGaussian is the same stream as nextGaussian, scaled', () => {
  const a = new SeededRandom(9).fillGaussian(new Float32Array(5), 2);
  const b = new SeededRandom(9);
  a.forEach((v, i) => assert.equal(v, Math.fround(b.nextGaussian() * 2), `element ${i}`));
});

test('a bad seed is refused', () => {
  assert.throws(() => new SeededRandom(-1), RangeError);
  assert.throws(() => new SeededRandom(1.5), RangeError);
});
