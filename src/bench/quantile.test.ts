import assert from 'node:assert/strict';
import test from 'node:test';
import { quantile } from './quantile.js';

test('nearest-rank quantiles', () => {
  const values = [5, 1, 4, 2, 3];
  assert.equal(quantile(values, 0.5), 3);
  assert.equal(quantile(values, 0.99), 5);
  assert.equal(quantile(values, 0), 1);
  assert.equal(
    quantile(
      Array.from({ length: 100 }, (_, i) => i + 1),
      0.99,
    ),
    99,
  );
  assert.ok(Number.isNaN(quantile([], 0.5)));
});
