/**
 * The hub client's waits against the loopback hub: a hub that accepts connections but never answers fails
 * after the short first-byte timeout with few retries; a body that pauses is judged by the separate idle
 * timeout; a connection closed mid-body says so, with the bytes received.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { HubServer } from '../testing/hub-server.js';
import { HttpFailure, HubHttpClient } from './hub-http.js';
import { ModelStore, modelStoreOptionsFromEnv, type ModelStoreOptions } from './model-store.js';

const repo = 'tiny/waits';
const weights = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 17 + 3) % 253));

let server: HubServer;
let work: string;

before(async () => {
  server = await HubServer.start();
  server.addRepo(repo, { 'config.json': '{"model_type":"tiny"}\n', 'onnx/model.onnx': weights });
});
after(async () => server.close());
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'pmg-hub-http-'));
  server.clearRequests();
  server.clearFaults();
});
afterEach(async () => rm(work, { recursive: true, force: true }));

function store(overrides: Partial<ModelStoreOptions> = {}): ModelStore {
  return new ModelStore({ cacheDir: join(work, 'cache'), endpoint: server.url, offline: false, retryDelayMs: 1, ...overrides });
}

async function failure(promise: Promise<unknown>): Promise<PmgError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof PmgError, `expected a PmgError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

test('a hub that never answers fails after the first-byte timeout, retried once, not once per retry', async () => {
  server.inject({ kind: 'delay', ms: 60_000, times: Infinity });
  const started = Date.now();
  const error = await failure(store({ responseTimeoutMs: 100, retries: 3 }).resolve(repo, { files: ['config.json'] }));
  const elapsed = Date.now() - started;
  assert.equal(error.code, 'timeout');
  assert.match(
    error.message,
    /^timed out fetching config\.json of tiny\/waits@main at http:\/\/127\.0\.0\.1:\d+ after 2 attempts: 127\.0\.0\.1:\d+ accepted the connection but sent no answer within 100ms; check the network or HF_ENDPOINT \(PMG_HUB_TIMEOUT raises the wait\)$/,
  );
  assert.equal(server.count({ route: 'resolve' }), 2, 'timeoutRetries (default 1) bounds the attempts, not retries (3)');
  assert.ok(elapsed < 1500, `took ${elapsed} ms`);
});

test('the default waits: 15 s to connect, 15 s for the first byte, one retry after either', () => {
  const s = store();
  assert.equal(s.options.connectTimeoutMs, 15_000);
  assert.equal(s.options.responseTimeoutMs, 15_000);
  assert.equal(s.options.timeoutRetries, 1);
  assert.equal(s.options.timeoutMs, 30_000, 'the body idle timeout stays separate');
  // Worst case for a silent hub per file: 2 waits and one backoff, well under a minute.
  assert.ok(s.options.responseTimeoutMs * (s.options.timeoutRetries + 1) + s.options.retryDelayMs < 60_000);
});

test('PMG_HUB_TIMEOUT sets both waits in seconds; a bad value names the variable', () => {
  const options = modelStoreOptionsFromEnv({ HOME: '/h', PMG_HUB_TIMEOUT: '2.5' });
  assert.equal(options.connectTimeoutMs, 2500);
  assert.equal(options.responseTimeoutMs, 2500);
  assert.equal(modelStoreOptionsFromEnv({ HOME: '/h' }).responseTimeoutMs, undefined);
  assert.throws(() => modelStoreOptionsFromEnv({ HOME: '/h', PMG_HUB_TIMEOUT: 'soon' }), /PMG_HUB_TIMEOUT must be a positive number of seconds, got 'soon'/);
  assert.throws(() => modelStoreOptionsFromEnv({ HOME: '/h', PMG_HUB_TIMEOUT: '0' }), /PMG_HUB_TIMEOUT/);
});

test('a body that pauses longer than the first-byte timeout (but less than the idle timeout) still downloads', async () => {
  server.inject({ kind: 'stall', afterBytes: 1000, ms: 300, match: { file: 'onnx/model.onnx' } });
  const model = await store({ responseTimeoutMs: 100, timeoutMs: 5000, retries: 0 }).resolve(repo, { files: ['onnx/model.onnx'] });
  assert.deepEqual(await readFile(join(model.dir, 'onnx/model.onnx')), weights);
});

test('a connection closed mid-body says so, with the bytes received; it is retried (resumed) like other transient errors', async () => {
  server.inject({ kind: 'drop', afterBytes: 10_000, times: Infinity, match: { file: 'onnx/model.onnx' } });
  const error = await failure(store({ retries: 2 }).resolve(repo, { files: ['onnx/model.onnx'] }));
  assert.equal(error.code, 'download-failed');
  assert.match(
    error.message,
    /^download of onnx\/model\.onnx from tiny\/waits@main at \S+ failed after 3 attempts: the connection to 127\.0\.0\.1:\d+ closed after 29 KB of 49 KB( \(ECONNRESET\))?$/,
  );
  assert.doesNotMatch(error.message, /could not be reached|failed: (ECONNRESET|aborted)/);
  assert.equal(error.isRetryable, true);
  const ranges = server.requests.filter((r) => r.route === 'cdn').map((r) => r.range);
  assert.equal(ranges.length, 3);
  assert.equal(ranges[0], undefined);
  assert.match(ranges[2] ?? '', /^bytes=\d+-$/, 'later attempts resume where the data stopped');
});

test('the client reports the stage of a failure: a wait for the answer, or a connection that was refused', async () => {
  server.inject({ kind: 'delay', ms: 60_000 });
  const client = new HubHttpClient({ endpoint: server.url, timeoutMs: 5000, responseTimeoutMs: 80, userAgent: 'test' });
  await assert.rejects(client.request('GET', `${server.url}/${repo}/resolve/main/config.json`), (error: unknown) => {
    assert.ok(error instanceof HttpFailure);
    assert.equal(error.kind, 'timeout');
    assert.equal(error.stage, 'response');
    assert.equal(error.waitedInVain, true);
    return true;
  });
  const closed = new HubHttpClient({ endpoint: 'http://127.0.0.1:9', timeoutMs: 5000, userAgent: 'test' });
  await assert.rejects(
    closed.request('GET', 'http://127.0.0.1:9/x'),
    (error: unknown) => error instanceof HttpFailure && error.kind === 'connection' && error.stage === 'connect' && !error.waitedInVain,
  );
});
