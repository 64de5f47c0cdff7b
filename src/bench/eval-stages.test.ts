import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchEvalStages, formatEvalStages } from './eval-stages.js';

test('the eval stage shares cover the run and every stage took time', async () => {
  const result = await benchEvalStages({ samples: 1, steps: 2, size: 32 });
  assert.deepEqual(
    result.stages.map((s) => s.stage),
    ['llm', 'diffusion', 'scoring', 'metrics', 'other'],
  );
  for (const s of result.stages.slice(0, 4)) assert.ok(s.ms > 0, `${s.stage} was measured`);
  const total = result.stages.reduce((a, s) => a + s.share, 0);
  assert.ok(total >= 0.999 && total <= 1.2, `shares sum to about 1 (${total})`);
  assert.match(formatEvalStages(result), /^diffusion +\d+\.\d +\d+\.\d%$/m);
});
