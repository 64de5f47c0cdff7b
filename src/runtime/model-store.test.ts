import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { HubServer } from '../testing/hub-server.js';
import { matchesAny, parseModelSpec, revisionCacheDir } from './cache-layout.js';
import { ModelStore, modelStoreOptionsFromEnv, type ModelStoreOptions } from './model-store.js';

const repo = 'tiny/model';
const weights = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 31 + 7) % 251));
const files = {
  'config.json': '{"model_type":"tiny"}\n',
  'tokenizer.json': '{"version":"1.0"}\n',
  'onnx/model.onnx': weights,
  'README.md': '# tiny\n',
};

let server: HubServer;
let work: string;

before(async () => {
  server = await HubServer.start();
  server.addRepo(repo, files);
  server.addRepo(repo, { 'config.json': '{"v":2}' }, { revision: 'v2' });
});
after(async () => server.close());
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'pmg-store-'));
  server.clearRequests();
  server.clearFaults();
});
afterEach(async () => rm(work, { recursive: true, force: true }));

function store(overrides: Partial<ModelStoreOptions> = {}): ModelStore {
  return new ModelStore({ cacheDir: join(work, 'cache'), endpoint: server.url, offline: false, retries: 2, retryDelayMs: 1, timeoutMs: 2000, ...overrides });
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<PmgError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof PmgError, `expected a PmgError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('model store against a loopback hub', () => {
  test('clean download: files land in the cache layout, LFS redirect followed, token not sent to the CDN', async () => {
    const s = store({ token: 'secret' });
    const model = await s.resolve(repo, { files: ['config.json', 'onnx/model.onnx'], optionalFiles: ['generation_config.json'] });
    assert.equal(model.dir, revisionCacheDir(join(work, 'cache'), repo, 'main'));
    assert.equal(model.dir, join(work, 'cache', 'models', 'tiny--model', 'main'));
    assert.equal(model.local, false);
    assert.equal(model.revision, 'main');
    assert.match(model.commit ?? '', /^[0-9a-f]{40}$/);
    assert.deepEqual(await readFile(join(model.dir, 'onnx/model.onnx')), weights);
    assert.equal(await readFile(join(model.dir, 'config.json'), 'utf8'), files['config.json']);
    assert.equal(existsSync(join(model.dir, 'generation_config.json')), false);
    const cdn = server.requests.filter((r) => r.route === 'cdn');
    assert.equal(cdn.length, 1);
    assert.equal(cdn[0]!.authorization, undefined);
    assert.ok(server.requests.filter((r) => r.server === 'hub').every((r) => r.authorization === 'Bearer secret'));

    // A second resolve, optional 404 included, asks nothing of the network.
    server.clearRequests();
    await s.resolve(repo, { files: ['config.json', 'onnx/model.onnx'], optionalFiles: ['generation_config.json'] });
    assert.equal(server.requests.length, 0);
  });

  test('a dropped connection mid-file is resumed with a Range request, byte-identical', async () => {
    server.inject({ kind: 'drop', afterBytes: 20_000, match: { file: 'onnx/model.onnx' } });
    const model = await store().resolve(repo, { files: ['onnx/model.onnx'] });
    const cdn = server.requests.filter((r) => r.route === 'cdn');
    assert.equal(cdn.length, 2);
    assert.equal(cdn[0]!.range, undefined);
    const start = Number(/^bytes=(\d+)-$/.exec(cdn[1]!.range ?? '')?.[1]);
    assert.ok(start > 0 && start <= 20_000, `second request range ${cdn[1]!.range}`);
    assert.deepEqual(await readFile(join(model.dir, 'onnx/model.onnx')), weights);
    assert.deepEqual((await readdir(join(model.dir, 'onnx'))).sort(), ['model.onnx']);
  });

  test('a partial file left by an interrupted run is resumed, never returned', async () => {
    const dir = revisionCacheDir(join(work, 'cache'), repo, 'main');
    await mkdir(join(dir, 'onnx'), { recursive: true });
    await writeFile(join(dir, 'onnx/model.onnx.incomplete'), weights.subarray(0, 12_345));
    const s = store({ offline: true });
    await rejectsWith(s.resolve(repo, { files: ['onnx/model.onnx'] }), 'offline', /onnx\/model\.onnx/);
    const model = await store().resolve(repo, { files: ['onnx/model.onnx'] });
    assert.deepEqual(
      server.requests.filter((r) => r.route === 'cdn').map((r) => r.range),
      ['bytes=12345-'],
    );
    assert.deepEqual(await readFile(join(model.dir, 'onnx/model.onnx')), weights);
  });

  test('404 names the file, the repo, the revision and the endpoint', async () => {
    await rejectsWith(
      store().resolve(repo, { files: ['missing.json'] }),
      'model-not-found',
      new RegExp(`not found: missing\\.json in tiny/model@main at ${server.url}`),
    );
    await rejectsWith(store().resolve('nobody/nothing', { files: ['config.json'] }), 'model-not-found', /not found: config\.json in nobody\/nothing@main/);
    assert.equal(server.count({ file: 'missing.json' }), 1, 'a 404 is not retried');
  });

  test('500: bounded retries, then a clear error', async () => {
    server.inject({ kind: 'status', status: 500, times: Infinity, match: { route: 'resolve' } });
    const error = await rejectsWith(
      store({ retries: 2 }).resolve(repo, { files: ['config.json'] }),
      'download-failed',
      /config\.json from tiny\/model@main .*failed after 3 attempts: HTTP 500/,
    );
    assert.equal(error.details.attempts, 3);
    assert.equal(server.count({ route: 'resolve' }), 3);
    assert.equal(existsSync(join(revisionCacheDir(join(work, 'cache'), repo, 'main'), 'config.json')), false);
  });

  test('a 503 that clears up is retried and succeeds', async () => {
    server.inject({ kind: 'status', status: 503, times: 2, match: { route: 'resolve' } });
    const model = await store({ retries: 3 }).resolve(repo, { files: ['config.json'] });
    assert.equal(await readFile(join(model.dir, 'config.json'), 'utf8'), files['config.json']);
    assert.equal(server.count({ route: 'resolve' }), 3);
  });

  test('a very slow server is a timeout error, quickly', async () => {
    server.inject({ kind: 'delay', ms: 3000, times: Infinity });
    const started = Date.now();
    await rejectsWith(
      store({ responseTimeoutMs: 150, retries: 1 }).resolve(repo, { files: ['config.json'] }),
      'timeout',
      /timed out fetching config\.json of tiny\/model@main .*after 2 attempts: .* sent no answer within 150ms/,
    );
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });

  test('a stall in the middle of a file body is a timeout too', async () => {
    server.inject({ kind: 'stall', afterBytes: 100, ms: 3000, times: Infinity, match: { file: 'onnx/model.onnx' } });
    await rejectsWith(store({ timeoutMs: 150, retries: 0 }).resolve(repo, { files: ['onnx/model.onnx'] }), 'timeout', /onnx\/model\.onnx/);
  });

  test('sha256 mismatch: the file is rejected and nothing is left in the cache', async () => {
    server.inject({ kind: 'corrupt', match: { file: 'onnx/model.onnx' } });
    await rejectsWith(store().resolve(repo, { files: ['onnx/model.onnx'] }), 'download-failed', /onnx\/model\.onnx .*corrupt \(sha256 mismatch/);
    const dir = revisionCacheDir(join(work, 'cache'), repo, 'main');
    assert.equal(existsSync(join(dir, 'onnx/model.onnx')), false);
    assert.equal(existsSync(join(dir, 'onnx/model.onnx.incomplete')), false);
    assert.deepEqual(await store().list(), []);
  });

  test('offline: cached files resolve with no request; missing ones name repo, files and the pull command', async () => {
    await store().resolve(repo, { files: ['config.json'] });
    server.clearRequests();
    const offline = store({ offline: true, endpoint: 'http://127.0.0.1:9' });
    const model = await offline.resolve(repo, { files: ['config.json'], optionalFiles: ['tokenizer.json'] });
    assert.equal(await readFile(join(model.dir, 'config.json'), 'utf8'), files['config.json']);
    await rejectsWith(
      offline.resolve(repo, { files: ['config.json', 'onnx/model.onnx'] }),
      'offline',
      /tiny\/model@main is missing onnx\/model\.onnx .*'pmg models pull tiny\/model'/,
    );
    await rejectsWith(offline.pull(`${repo}@v2`), 'offline', /'pmg models pull tiny\/model --revision v2'/);
    assert.equal(server.requests.length, 0);
  });

  test('pull downloads the whole repo; a second pull makes no request and downloads nothing', async () => {
    const s = store();
    const first = await s.pull(repo);
    assert.deepEqual([...first.files].sort(), Object.keys(files).sort());
    assert.equal(first.downloadedBytes, weights.length + 22 + 18 + 7);
    assert.equal(first.totalBytes, first.downloadedBytes);
    assert.equal(server.count({ route: 'api' }), 1);
    server.clearRequests();
    const second = await s.pull(repo);
    assert.equal(second.downloadedBytes, 0);
    assert.equal(server.requests.length, 0);
    const again = await store({ offline: true }).pull(repo);
    assert.equal(again.files.length, 4);
  });

  test('pull --include fetches only matching files; revisions are cached apart', async () => {
    const s = store();
    const result = await s.pull(repo, { include: ['*.json'] });
    assert.deepEqual([...result.files].sort(), ['config.json', 'tokenizer.json']);
    assert.equal(existsSync(join(result.dir, 'onnx/model.onnx')), false);
    await rejectsWith(s.pull(repo, { include: ['*.safetensors'] }), 'model-file-missing', /no file of tiny\/model@main matches '\*\.safetensors'/);
    const v2 = await s.pull(`${repo}@v2`);
    assert.equal(await readFile(join(v2.dir, 'config.json'), 'utf8'), '{"v":2}');
    const listed = await s.list();
    assert.deepEqual(
      listed.map((m) => [m.id, m.revision, m.files]),
      [
        [repo, 'main', 2],
        [repo, 'v2', 1],
      ],
    );
    assert.equal(listed[0]!.bytes, 22 + 18);
  });

  test('HF_ENDPOINT (a mirror) and PMG_CACHE_DIR from the environment are honoured', async () => {
    const options = modelStoreOptionsFromEnv({ HF_ENDPOINT: `${server.url}/`, PMG_CACHE_DIR: join(work, 'mirror-cache'), HOME: work });
    assert.equal(options.endpoint, server.url);
    const model = await new ModelStore({ ...options, retryDelayMs: 1 }).resolve(repo, { files: ['README.md'] });
    assert.equal(model.dir, join(work, 'mirror-cache', 'models', 'tiny--model', 'main'));
    assert.equal(server.count({ route: 'resolve', file: 'README.md' }), 1);
  });

  test('401 says to set HF_TOKEN', async () => {
    const locked = await HubServer.start({ token: 'right' });
    try {
      locked.addRepo(repo, files);
      await rejectsWith(
        store({ endpoint: locked.url }).resolve(repo, { files: ['config.json'] }),
        'model-not-found',
        /access denied \(HTTP 401\).*set HF_TOKEN/,
      );
      await rejectsWith(store({ endpoint: locked.url, token: 'wrong' }).pull(repo), 'model-not-found', /HF_TOKEN was refused/);
      const model = await store({ endpoint: locked.url, token: 'right' }).resolve(repo, { files: ['onnx/model.onnx'] });
      assert.deepEqual(await readFile(join(model.dir, 'onnx/model.onnx')), weights);
    } finally {
      await locked.close();
    }
  });

  test('local folders pass straight through; a missing file names the folder and the file', async () => {
    const folder = join(work, 'my-model');
    await mkdir(folder);
    await writeFile(join(folder, 'config.json'), '{}');
    const s = store({ cwd: work, offline: true });
    for (const spec of [folder, './my-model', 'my-model']) {
      const model = await s.resolve(spec, { files: ['config.json'] });
      assert.deepEqual({ dir: model.dir, local: model.local, revision: model.revision }, { dir: folder, local: true, revision: undefined });
    }
    await rejectsWith(s.resolve(folder, { files: ['config.json', 'onnx/model.onnx'] }), 'model-file-missing', new RegExp(`${folder} has no onnx/model\\.onnx`));
    await rejectsWith(s.resolve('./nope', { files: [] }), 'file-not-found', /nope does not exist/);
    assert.equal(server.requests.length, 0);
  });
});

describe('model store configuration and specs', () => {
  test('options from the environment', () => {
    const base = modelStoreOptionsFromEnv({ HOME: '/home/u' });
    assert.equal(base.cacheDir, '/home/u/.cache/pmg');
    assert.equal(base.endpoint, 'https://huggingface.co');
    assert.equal(base.offline, false);
    assert.equal(base.token, undefined);
    assert.equal(modelStoreOptionsFromEnv({ HOME: '/h', XDG_CACHE_HOME: '/x' }).cacheDir, '/x/pmg');
    assert.equal(modelStoreOptionsFromEnv({ PMG_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x' }).cacheDir, '/c');
    assert.equal(modelStoreOptionsFromEnv({ PMG_OFFLINE: '1' }).offline, true);
    assert.equal(modelStoreOptionsFromEnv({ HF_HUB_OFFLINE: '1' }).offline, true);
    assert.equal(modelStoreOptionsFromEnv({ PMG_OFFLINE: '0' }).offline, false);
    assert.equal(modelStoreOptionsFromEnv({ HF_TOKEN: 't' }).token, 't');
    assert.equal(modelStoreOptionsFromEnv({ PMG_OFFLINE: '1' }, { offline: false, retries: 0 }).offline, false);
  });

  test('specs: folders, ids, revisions, bad names', () => {
    assert.deepEqual(parseModelSpec('Xenova/clip-vit-base-patch32', '/nonexistent'), {
      kind: 'hub',
      id: 'Xenova/clip-vit-base-patch32',
      owner: 'Xenova',
      name: 'clip-vit-base-patch32',
      revision: 'main',
      spec: 'Xenova/clip-vit-base-patch32',
    });
    const pr = parseModelSpec('a/b@refs/pr/1', '/nonexistent');
    assert.equal(pr.kind === 'hub' && pr.revision, 'refs/pr/1');
    assert.equal(parseModelSpec('./a/b', '/base').kind, 'local');
    assert.equal(parseModelSpec('/abs/path').kind, 'local');
    assert.throws(() => parseModelSpec('justaname', '/nonexistent'), /neither an existing folder nor a hub repo id/);
    assert.throws(() => parseModelSpec('a/b/c', '/nonexistent'), /neither an existing folder/);
    assert.throws(() => parseModelSpec('a/b@../x', '/nonexistent'), /revision/);
    assert.equal(revisionCacheDir('/c', 'a/b', 'refs/pr/1'), '/c/models/a--b/refs%2Fpr%2F1');
  });

  test('include patterns follow fnmatch', () => {
    assert.equal(matchesAny('onnx/model.onnx', ['onnx/*']), true);
    assert.equal(matchesAny('onnx/model.onnx', ['onnx/']), true);
    assert.equal(matchesAny('tokenizer/vocab.json', ['*.json']), true);
    assert.equal(matchesAny('model.onnx', ['*.json']), false);
    assert.equal(matchesAny('model-1.bin', ['model-?.bin']), true);
    assert.equal(matchesAny('model+1.bin', ['model+1.bin']), true);
  });

  test('a hostile listing cannot write outside the cache', async () => {
    const evil = await HubServer.start();
    try {
      evil.addRepo('evil/repo', { '../../escape.txt': 'x' });
      const s = new ModelStore({ cacheDir: join(work, 'cache'), endpoint: evil.url, offline: false, retries: 0 });
      await rejectsWith(s.pull('evil/repo'), 'invalid-argument', /not a plain relative path/);
      assert.equal(existsSync(join(work, 'escape.txt')), false);
    } finally {
      await evil.close();
    }
  });
});
