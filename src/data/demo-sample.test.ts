import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDemoSamples } from './demo-sample.js';

test('the shipped demo sample has 3 MovieLens users with keyworded histories and described targets', () => {
  const samples = loadDemoSamples();
  assert.equal(samples.length, 3);
  assert.deepEqual(
    samples.map((s) => s.user),
    ['54', '157', '431'],
  );
  for (const s of samples) {
    assert.equal(s.scene, 'movie');
    assert.ok(s.history.items.length >= 1 && s.history.items.length <= 3);
    for (const item of s.history.items) {
      assert.ok(item.title && item.genres!.length > 0);
      assert.ok(item.keywords!.length >= 1 && item.keywords!.length <= 5);
    }
    assert.ok(s.target.item!.title && s.target.item!.genres!.length > 0);
    assert.match(s.target.item!.description!, /^[^\n]{20,200}$/);
  }
  assert.equal(samples[0]!.target.item!.title, 'The Shawshank Redemption');
});

test('a broken demo file is one clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pmg-demo-'));
  try {
    writeFileSync(join(dir, 'x.json'), '{ nope');
    assert.throws(() => loadDemoSamples(join(dir, 'x.json')), /cannot read the demo sample .*x\.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
