import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtures } from '../fixtures/write-fixtures.js';
import { OnnxCausalLanguageModel } from '../providers/llm/onnx-causal-lm.js';
import { readSoftModule } from '../soft/soft-module.js';
import { countingBody, fixtureLlmBody } from '../testing/fixture-llm-body.js';
import { benchSoft, formatSoftBench } from './soft.js';

let root: string;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-bench-soft-'));
  await writeFixtures(root, { only: ['llm', 'soft'] });
});
after(() => rmSync(root, { recursive: true, force: true }));

test('bench soft: per user, the soft stage and keyword extraction timed without a cache, and the soft stage from the cache', async () => {
  const llm = new OnnxCausalLanguageModel({ dir: join(root, 'llm'), id: 'tiny-llm' });
  await llm.load();
  const body = countingBody(await fixtureLlmBody(root));
  const lines: string[] = [];
  const result = await benchSoft({ llm, body, module: readSoftModule(join(root, 'soft')) }, { repeats: 2, users: 2 }, (line) => lines.push(line));
  assert.deepEqual(
    result.rows.map((r) => r.user),
    ['54', '157'],
  );
  assert.equal(body.forwardCalls, 1 + 2 * 2, 'one warm-up pass, then one per user and repeat: the cached runs make none');
  for (const row of result.rows) {
    assert.ok(row.keywordsMs > 0 && row.softMs > 0 && row.promptTokens > 20);
    // The cache hit's cost is the bench's figure; the test holds it to no time (timings flake on a busy machine), the
    // forward-call count above already shows that a hit runs no pass.
    assert.ok(row.softCachedMs >= 0 && Number.isFinite(row.softCachedMs));
  }
  assert.equal(lines.length, 2);
  const text = formatSoftBench(result, 'pmg bench soft --repeats 2 --users 2');
  assert.match(text, /^command: pmg bench soft --repeats 2 --users 2$/m);
  assert.match(text, /soft stage \/ keyword extraction, median over users: \d+\.\d{3}$/m);
});
