import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PNG } from 'pngjs';
import { assetPath } from '../core/package-root.js';
import { PmgError } from '../errors/pmg-error.js';
import { loadStickers, stickerSamples } from './stickers.js';

const tmp = mkdtempSync(join(tmpdir(), 'pmg-stickers-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const dir = join(tmp, 'ser');
cpSync(assetPath('test-data', 'stickers'), dir, { recursive: true });
const png = PNG.sync.write(new PNG({ width: 2, height: 2 }));
const themes: Record<string, number[]> = { '01-panda': [1, 2, 3, 4, 5, 6, 7, 10], '02-cat': [1, 2, 4, 5, 6], '03-dog': [1, 2, 3] };
for (const [topic, numbers] of Object.entries(themes)) {
  mkdirSync(join(dir, 'Images', topic), { recursive: true });
  for (const n of numbers) writeFileSync(join(dir, 'Images', topic, `sticker_${n}.png`), png);
}

test('themes as users, natural order, 5+1 windows, missing images counted', async () => {
  const data = await loadStickers(dir, { emotionLabels: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] });
  assert.deepEqual(
    data.themes
      .get('01-panda')!
      .map((s) => s.fileName)
      .slice(-2),
    ['sticker_7.png', 'sticker_10.png'],
  );
  const { samples, skipped } = stickerSamples(data, { seed: 5 });
  assert.deepEqual(skipped, { 'too-few-stickers': 1, 'missing-image': 1 });
  assert.deepEqual(
    samples.map((s) => s.id),
    ['stickers:01-panda:window-0', 'stickers:01-panda:window-1', 'stickers:01-panda:window-2'],
  );
  const last = samples[2]!;
  assert.deepEqual(
    last.history.items.map((i) => i.id),
    [3, 4, 5, 6, 7].map((n) => `01-panda/sticker_${n}.png`),
  );
  assert.equal(last.target.item!.id, '01-panda/sticker_10.png');
  assert.equal(last.target.item!.title, 'bye');
  assert.equal(last.history.items[4]!.title, 'g sticker');
  assert.equal(last.history.items[0]!.description, 'emotion: c');
  assert.equal(last.targetImage, join(dir, 'Images', '01-panda', 'sticker_10.png'));
  assert.equal(last.scene, 'sticker');
  assert.equal(last.user, '01-panda');
  assert.deepEqual(stickerSamples(data, { seed: 5 }), { samples, skipped });
  const parts = samples.map((s) => s.split);
  assert.equal(parts.length, 3);
  assert.deepEqual(
    stickerSamples(data, { seed: 5, split: parts[0]! }).samples.map((s) => s.id),
    samples.filter((s) => s.split === parts[0]).map((s) => s.id),
  );
  // Without label names, numeric labels read 'label <n>'.
  assert.equal(stickerSamples(await loadStickers(dir), {}).samples[0]!.history.items[1]!.description, 'emotion: label 2');
});

test('bad sticker input', async () => {
  await assert.rejects(loadStickers(join(tmp, 'none')), (e: unknown) => e instanceof PmgError && e.code === 'file-not-found');
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  await assert.rejects(loadStickers(empty), /expected Annotations\/image-level\/\{train,val,test\}\.json/);
  const bad = join(tmp, 'bad');
  mkdirSync(join(bad, 'Annotations'), { recursive: true });
  writeFileSync(join(bad, 'Annotations', 'train.json'), JSON.stringify({ annotations: [{ topic: 'x', anno: 1 }] }));
  await assert.rejects(loadStickers(bad), /train\.json: annotations\[0\]\.file_name must be a non-empty string/);
  assert.throws(() => stickerSamples({ dir: bad, themes: new Map() }, { protocol: 'official' as never }), /only the window protocol/);
});
