import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PNG } from 'pngjs';
import { assetPath } from '../core/package-root.js';
import { PmgError } from '../errors/pmg-error.js';
import { loadPog, pogSamples } from './pog.js';

const tmp = mkdtempSync(join(tmpdir(), 'pmg-pog-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const dir = join(tmp, 'pog');
cpSync(assetPath('test-data', 'pog'), dir, { recursive: true });
mkdirSync(join(dir, 'images'));
const png = PNG.sync.write(new PNG({ width: 2, height: 2 }));
for (const id of ['i1', 'i2', 'i3', 'i4', 'i5', 'i6', 'i9', 'i10', 'i11']) writeFileSync(join(dir, 'images', `${id}.png`), png);

const ids = (items: { id?: string }[]) => items.map((i) => i.id);

test('official POG protocol: last 5 clicked items with images, seeded outfit target, skips counted', async () => {
  const data = await loadPog(dir);
  assert.deepEqual(
    data.users.map((u) => u.id),
    ['u1', 'u2', 'u3', 'u4', 'u5'],
  );
  const { samples, skipped } = pogSamples(data, { protocol: 'official', seed: 1 });
  assert.deepEqual(skipped, { 'no-history-image': 1, 'no-target-image': 1, 'unknown-outfit': 1 });
  assert.deepEqual(
    samples.map((s) => s.id),
    ['pog:user-u1', 'pog:user-u5'],
  );
  const [u1, u5] = samples;
  assert.deepEqual(ids(u1!.history.items), ['i2', 'i3', 'i4', 'i5', 'i6']);
  assert.ok(['i10', 'i11'].includes(u1!.target.item!.id!));
  assert.equal(u1!.history.items[3]!.title, 'wool scarf, grey');
  assert.equal(u1!.history.items[3]!.category, 'c13');
  assert.deepEqual(
    u1!.historyImages,
    ['i2', 'i3', 'i4', 'i5', 'i6'].map((i) => join(dir, 'images', `${i}.png`)),
  );
  assert.equal(u5!.target.item!.id, 'i9');
  assert.equal(u5!.scene, 'fashion');
  // Deterministic under the seed; the target of u1 over seeds covers both outfit items.
  assert.deepEqual(pogSamples(data, { protocol: 'official', seed: 1 }), { samples, skipped });
  const targets = new Set(Array.from({ length: 20 }, (_, seed) => pogSamples(data, { protocol: 'official', seed }).samples[0]!.target.item!.id));
  assert.deepEqual([...targets].sort(), ['i10', 'i11']);
  // A user's target does not depend on how many users are read.
  const first = await loadPog(dir, { maxUsers: 1 });
  assert.deepEqual(pogSamples(first, { protocol: 'official', seed: 1 }).samples, [u1]);
});

test('window protocol over usable clicks', async () => {
  const data = await loadPog(dir);
  const { samples, skipped } = pogSamples(data, { protocol: 'window', seed: 0 });
  assert.deepEqual(
    samples.map((s) => s.id),
    ['pog:user-u1:window-0', 'pog:user-u5:window-0', 'pog:user-u5:window-1'],
  );
  assert.deepEqual(ids(samples[2]!.history.items), ['i5', 'i4', 'i3', 'i2', 'i1']);
  assert.equal(samples[2]!.target.item!.id, 'i10');
  assert.deepEqual(skipped, { 'too-few-items': 3 });
  assert.ok(samples.every((s) => s.split !== undefined));
});

test('bad POG input: missing folder, missing images folder, malformed line', async () => {
  await assert.rejects(loadPog(join(tmp, 'none')), (e: unknown) => e instanceof PmgError && e.code === 'file-not-found');
  await assert.rejects(loadPog(dir, { images: join(tmp, 'no-images') }), /images: image folder not found: .*no-images$/);
  const bad = join(tmp, 'bad');
  cpSync(dir, bad, { recursive: true });
  writeFileSync(join(bad, 'user_data.txt'), 'u1,i1;i2,o1\nu2;i1\n');
  await assert.rejects(
    loadPog(bad),
    (e: unknown) => e instanceof PmgError && e.code === 'invalid-input' && e.message.includes(`${join(bad, 'user_data.txt')}:2:`),
  );
});
