import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeTinySd } from '../fixtures/tiny-sd.js';
import { OnnxSession, ort } from './onnx-session.js';
import { modelBytes, optimizedCacheKey } from './optimized-model-cache.js';

let root: string;
let unet: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'pmg-optimized-'));
  unet = join(writeTinySd(join(root, 'sd'), { unetScale: 2 }), 'unet', 'model.onnx');
});
after(() => rmSync(root, { recursive: true, force: true }));

const feeds = () => ({
  sample: new ort.Tensor(
    'float32',
    Float32Array.from({ length: 2 * 4 * 8 * 8 }, (_, i) => Math.sin(i)),
    [2, 4, 8, 8],
  ),
  timestep: new ort.Tensor('int64', BigInt64Array.of(500n), [1]),
  encoder_hidden_states: new ort.Tensor(
    'float32',
    Float32Array.from({ length: 2 * 77 * 768 }, (_, i) => Math.cos(i) / 4),
    [2, 77, 768],
  ),
});

async function output(session: OnnxSession): Promise<Float32Array> {
  const out = await session.run(feeds());
  const data = Float32Array.from(out.out_sample!.data as Float32Array);
  await session.release();
  return data;
}

test('a large model saves its optimized graph once, loads it afterwards, and computes the same bytes', async () => {
  const cache = join(root, 'cache');
  const options = { intraOpThreads: 1, optimizedCacheDir: cache, optimizedCacheMinBytes: 0 };
  const first = await OnnxSession.create(unet, options);
  assert.equal(first.loadedFrom, 'model');
  const folders = readdirSync(join(cache, 'optimized'));
  assert.equal(folders.length, 1);
  assert.match(folders[0]!, /^[0-9a-f]{32}$/, 'the temporary folder was renamed');
  assert.ok(existsSync(join(cache, 'optimized', folders[0]!, 'model.onnx')));
  const second = await OnnxSession.create(unet, options);
  assert.equal(second.loadedFrom, 'optimized-cache');
  assert.equal(second.path, unet, 'the session still names the model file');
  assert.deepEqual(await output(second), await output(first));
  const plain = await OnnxSession.create(unet, { intraOpThreads: 1 });
  assert.deepEqual(await output(plain), await output(await OnnxSession.create(unet, options)), 'and the same as without the cache');
});

test('another thread count, another file, or a damaged saved graph: a new entry; small models are not cached', async () => {
  const cache = join(root, 'cache2');
  const options = { intraOpThreads: 1, optimizedCacheDir: cache, optimizedCacheMinBytes: 0 };
  await (await OnnxSession.create(unet, options)).release();
  await (await OnnxSession.create(unet, { ...options, intraOpThreads: 2 })).release();
  assert.equal(readdirSync(join(cache, 'optimized')).length, 2);
  const key = optimizedCacheKey(unet, { ortVersion: 'x', options: 'y' });
  assert.notEqual(key, optimizedCacheKey(unet, { ortVersion: 'x2', options: 'y' }), 'the onnxruntime version is in the key');

  const [entry] = readdirSync(join(cache, 'optimized'));
  for (const folder of readdirSync(join(cache, 'optimized'))) writeFileSync(join(cache, 'optimized', folder, 'model.onnx'), 'damaged');
  const again = await OnnxSession.create(unet, options);
  assert.equal(again.loadedFrom, 'model', 'a damaged saved graph is dropped and the model loads');
  await again.release();
  const resaved = await OnnxSession.create(unet, options);
  assert.equal(resaved.loadedFrom, 'optimized-cache', 'and saved again');
  await resaved.release();
  assert.ok(entry);

  const small = join(root, 'cache3');
  assert.ok(modelBytes(unet) < 64 * 2 ** 20);
  await (await OnnxSession.create(unet, { intraOpThreads: 1, optimizedCacheDir: small })).release();
  assert.equal(existsSync(join(small, 'optimized')), false, 'below 64 MB nothing is saved');
});
