import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchSearch, formatSearchBench } from './search.js';

test('bench search: one row per count, positive medians, agreement counted, the fixture caveat printed', async () => {
  const options = { counts: [2, 3], steps: 3, size: 32, guidance: 7.5, repeats: 1, unetScale: 1, earlyFraction: 0.4, earlyKeep: 1, scheduler: 'ddim' };
  const result = await benchSearch(options);
  assert.deepEqual(
    result.rows.map((r) => r.candidates),
    [2, 3],
  );
  for (const row of result.rows) {
    for (const ms of [row.oneByOneMs, row.exhaustiveMs, row.earlyMs]) assert.ok(ms > 0 && Number.isFinite(ms));
    assert.ok(row.agree >= 0 && row.agree <= row.repeats);
  }
  const text = formatSearchBench(result, 'pmg bench search --counts 2,3');
  assert.match(text, /^command: pmg bench search --counts 2,3\nmachine: /);
  assert.match(text, /only the cost columns are meaningful/);
  assert.equal(text.split('\n').filter((l) => /^\s+[23]\s+\d+/.test(l)).length, 2);
});
