import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeTinySd } from '../../fixtures/tiny-sd.js';
import { HubServer } from '../../testing/hub-server.js';
import { runCli, type CliRun } from '../../testing/run-cli.js';

let server: HubServer;
let work: string;
const weights = Buffer.alloc(300_000, 7);

before(async () => {
  server = await HubServer.start();
  server.addRepo('tiny/clip', { 'config.json': '{"model_type":"clip"}', 'onnx/text_model.onnx': weights, 'onnx/vision_model.onnx': weights.subarray(0, 1000) });
  work = await mkdtemp(join(tmpdir(), 'pmg-models-cli-'));
});
after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(argv, { cwd: work, env: { HF_ENDPOINT: server.url, PMG_CACHE_DIR: join(work, 'cache'), HOME: work, ...env } });
}

test('pmg models pull downloads from the HF_ENDPOINT mirror with progress; a second run downloads nothing', async () => {
  const first = await run(['models', 'pull', 'tiny/clip']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^tiny\/clip@main: 3 file\(s\), 294 KB; downloaded 294 KB\n/);
  assert.match(first.stdout, new RegExp(join(work, 'cache', 'models', 'tiny--clip', 'main').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.match(first.stderr, /tiny\/clip onnx\/text_model\.onnx: 100% /);
  const requests = server.requests.length;
  assert.ok(requests >= 4);

  const second = await run(['models', 'pull', 'tiny/clip']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /already cached, nothing downloaded/);
  assert.equal(second.stderr, '');
  assert.equal(server.requests.length, requests, 'the second pull made no request');
});

test('pmg models list shows the model with its size; --json too', async () => {
  const listed = await run(['models', 'list']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^MODEL\s+REVISION\s+FILES\s+SIZE\s+PATH\n/);
  assert.match(listed.stdout, /tiny\/clip\s+main\s+3\s+294 KB\s+\//);
  const json = JSON.parse((await run(['models', 'list', '--json'])).stdout) as Array<{ id: string; bytes: number; files: number }>;
  assert.deepEqual(
    json.map((m) => [m.id, m.bytes, m.files]),
    [['tiny/clip', 301_021, 3]],
  );
  const empty = await run(['models', 'list'], { PMG_CACHE_DIR: join(work, 'empty') });
  assert.match(empty.stdout, /no models in the cache/);
});

test('pull errors are one line with a non-zero exit: offline, 404, conflicting revision', async () => {
  const offline = await run(['models', 'pull', 'tiny/other', '--offline']);
  assert.equal(offline.code, 6);
  assert.match(offline.stderr, /^pmg: offline mode: tiny\/other@main has not been pulled .*'pmg models pull tiny\/other'/);
  assert.equal(offline.stderr.trim().split('\n').length, 1);
  const envOffline = await run(['models', 'pull', 'tiny/other', '--revision', 'v1'], { PMG_OFFLINE: '1' });
  assert.match(envOffline.stderr, /'pmg models pull tiny\/other --revision v1'/);
  const missing = await run(['models', 'pull', 'nobody/nothing']);
  assert.equal(missing.code, 5);
  assert.match(
    missing.stderr,
    /^pmg: not found: nobody\/nothing@main at http:\/\/127\.0\.0\.1:\d+ \(RepoNotFound\) \(no local folder .*nobody\/nothing either\); check the repo id and revision\n$/,
  );
  const conflict = await run(['models', 'pull', 'tiny/clip@v1', '--revision', 'v2']);
  assert.equal(conflict.code, 2);
  assert.match(conflict.stderr, /names revision 'v1' but --revision says 'v2'/);
});

test('pull --include and --json', async () => {
  const result = await run(['models', 'pull', 'tiny/clip', '--include', '*.json', '--json'], { PMG_CACHE_DIR: join(work, 'cache2') });
  assert.equal(result.code, 0, result.stderr);
  const parsed = JSON.parse(result.stdout) as { files: string[]; downloadedBytes: number };
  assert.deepEqual(parsed.files, ['config.json']);
  assert.equal(parsed.downloadedBytes, 21);
});

test('pull --dtype fp32 writes an fp32 copy beside each fp16 graph, once; other values are refused', async () => {
  await server.addFolder('tiny/sd16', writeTinySd(join(work, 'sd16-src'), { fp16: true }));
  const cache = join(work, 'cache-fp32');
  const first = await run(['models', 'pull', 'tiny/sd16', '--dtype', 'fp32'], { PMG_CACHE_DIR: cache });
  assert.equal(first.code, 0, first.stderr);
  for (const part of ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']) {
    assert.match(first.stdout, new RegExp(`^${part}/model\\.onnx: fp32 copy written: [\\d.]+ [KM]B in [\\d.]+ s$`, 'm'));
    assert.match(first.stderr, new RegExp(`^converting ${part}/model\\.onnx from fp16 to fp32 \\.\\.\\.$`, 'm'));
  }
  const dir = join(cache, 'models', 'tiny--sd16', 'main');
  assert.ok(existsSync(join(dir, 'unet', 'model.fp32.onnx')) && existsSync(join(dir, 'unet', 'model.fp32.onnx.data')));
  const again = await run(['models', 'pull', 'tiny/sd16', '--dtype', 'fp32', '--json'], { PMG_CACHE_DIR: cache });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    (JSON.parse(again.stdout) as { fp32: { file: string; status: string }[] }).fp32.map((c) => c.status),
    ['kept', 'kept', 'kept', 'kept'],
  );
  const bad = await run(['models', 'pull', 'tiny/sd16', '--dtype', 'int8'], { PMG_CACHE_DIR: cache });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^pmg: --dtype must be fp32 \(an fp32 copy of fp16 graphs for CPU\), got 'int8'; leave it out to keep the files as published\n$/);
});
