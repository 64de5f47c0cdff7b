import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { HubServer } from './hub-server.js';

let server: HubServer;
const weights = Buffer.alloc(4096, 9);
const sha = createHash('sha256').update(weights).digest('hex');

before(async () => {
  server = await HubServer.start();
  server.addRepo('o/n', { 'config.json': '{"a":1}', 'model.safetensors': weights });
});
after(async () => server.close());

test('the listing carries sha, and sizes and lfs only with blobs=true', async () => {
  const plain = (await (await fetch(`${server.url}/api/models/o/n`)).json()) as { sha: string; siblings: unknown[] };
  assert.match(plain.sha, /^[0-9a-f]{40}$/);
  assert.deepEqual(plain.siblings, [{ rfilename: 'config.json' }, { rfilename: 'model.safetensors' }]);
  const blobs = (await (await fetch(`${server.url}/api/models/o/n/revision/main?blobs=true`)).json()) as {
    siblings: Array<{ size: number; lfs?: { sha256: string } }>;
  };
  assert.equal(blobs.siblings[0]!.size, 7);
  assert.equal(blobs.siblings[0]!.lfs, undefined);
  assert.equal(blobs.siblings[1]!.lfs?.sha256, sha);
  assert.equal((await fetch(`${server.url}/api/models/o/none`)).status, 404);
});

test('HEAD on resolve: LFS files redirect to the CDN with X-Linked-Size/Etag and X-Repo-Commit', async () => {
  const head = await fetch(`${server.url}/o/n/resolve/main/model.safetensors`, { method: 'HEAD', redirect: 'manual' });
  assert.equal(head.status, 302);
  assert.equal(head.headers.get('x-linked-size'), '4096');
  assert.equal(head.headers.get('x-linked-etag'), `"${sha}"`);
  assert.match(head.headers.get('x-repo-commit') ?? '', /^[0-9a-f]{40}$/);
  assert.ok(head.headers.get('location')!.startsWith(`${server.cdnUrl}/cdn/${sha}`));
  const small = await fetch(`${server.url}/o/n/resolve/main/config.json`, { method: 'HEAD' });
  assert.equal(small.status, 200);
  assert.equal(small.headers.get('content-length'), '7');
  const missing = await fetch(`${server.url}/o/n/resolve/main/nope.json`);
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('x-error-code'), 'EntryNotFound');
});

test('Range requests: 206 with Content-Range, 416 past the end', async () => {
  const part = await fetch(`${server.url}/o/n/resolve/main/model.safetensors`, { headers: { Range: 'bytes=4000-' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), 'bytes 4000-4095/4096');
  assert.equal((await part.arrayBuffer()).byteLength, 96);
  const beyond = await fetch(`${server.url}/o/n/resolve/main/config.json`, { headers: { Range: 'bytes=7-' } });
  assert.equal(beyond.status, 416);
});

test('faults fire the given number of times and requests are counted', async () => {
  server.clearRequests();
  server.inject({ kind: 'status', status: 503, times: 2, match: { file: 'config.json' } });
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await fetch(`${server.url}/o/n/resolve/main/config.json`)).status);
  assert.deepEqual(statuses, [503, 503, 200]);
  assert.equal(server.count({ file: 'config.json', route: 'resolve' }), 3);
  server.inject({ kind: 'corrupt', match: { file: 'config.json' } });
  assert.notEqual(await (await fetch(`${server.url}/o/n/resolve/main/config.json`)).text(), '{"a":1}');
  assert.equal(await (await fetch(`${server.url}/o/n/resolve/main/config.json`)).text(), '{"a":1}');
});

test('addFolder serves a folder at a revision; a token locks the hub but not the CDN', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pmg-hub-'));
  try {
    await mkdir(join(dir, 'onnx'));
    await writeFile(join(dir, 'onnx', 'model.onnx'), weights);
    const locked = await HubServer.start({ token: 't' });
    try {
      await locked.addFolder('f/m', dir, { revision: 'v1' });
      assert.equal((await fetch(`${locked.url}/f/m/resolve/v1/onnx/model.onnx`)).status, 401);
      const ok = await fetch(`${locked.url}/f/m/resolve/v1/onnx/model.onnx`, { headers: { Authorization: 'Bearer t' } });
      assert.equal(ok.status, 200);
      assert.deepEqual(Buffer.from(await ok.arrayBuffer()), weights);
      assert.equal(locked.count({ server: 'cdn' }), 1);
    } finally {
      await locked.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
