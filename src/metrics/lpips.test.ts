import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { assetPath } from '../core/package-root.js';
import { readImageRgb } from '../core/image-io.js';
import { SessionPool } from '../runtime/onnx-session.js';
import { writeTinyLpips } from '../fixtures/tiny-lpips.js';
import { LpipsModel } from './lpips.js';
import reference from './reference/lpips.json' with { type: 'json' };

const image = (name: string) => readImageRgb(assetPath('test-data', 'metrics', name));
let dir = '';
const pool = new SessionPool({ intraOpThreads: 1 });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pmg-lpips-'));
  await writeTinyLpips(join(dir, 'lpips'));
});
after(async () => {
  await pool.releaseAll();
  await rm(dir, { recursive: true, force: true });
});

test('LPIPS on the fixture network equals the independent numpy implementation', async () => {
  const model = await LpipsModel.load(join(dir, 'lpips'), { pool });
  for (const row of reference.lpips) {
    const [x, y] = await Promise.all([image(row.x), image(row.y)]);
    const [value] = await model.compare(x, [y]);
    assert.ok(Math.abs(value! - row.lpips) < 1e-5 + 1e-4 * row.lpips, `${row.x} vs ${row.y}: ${value} != ${row.lpips}`);
  }
});

test('one batch call for many references; generated image resized to each reference size', async () => {
  const model = await LpipsModel.load(join(dir, 'lpips'), { pool });
  const [a, b, c, big] = await Promise.all(['a.png', 'b.png', 'c.png', 'big-a.png'].map(image));
  const session = await pool.get(join(dir, 'lpips', 'model.onnx'));
  const before = session.runCount;
  const values = await model.compare(a, [b, c, a]);
  assert.equal(session.runCount - before, 1, 'all same-size images go in one onnxruntime call');
  assert.ok(Math.abs(values[0]! - reference.lpips[0]!.lpips) < 1e-4);
  assert.ok(values[2]! < 1e-9);
  const mixed = await model.compare(big, [a, big]);
  assert.equal(mixed.length, 2);
  assert.ok(mixed[1]! < 1e-9 && mixed[0]! > 0);
});

test('heads.json with negative weights or a missing file is refused clearly', async () => {
  const bad = join(dir, 'bad');
  await writeTinyLpips(bad);
  await writeFile(join(bad, 'heads.json'), JSON.stringify({ net: 'x', taps: ['tap_0'], heads: [[-1]] }));
  await assert.rejects(LpipsModel.load(bad, { pool }), /negative weights/);
  await assert.rejects(LpipsModel.load(join(dir, 'nothing'), { pool }), /has no heads.json/);
});
