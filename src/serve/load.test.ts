// Load on loopback: 50 concurrent clients submit and follow tiny jobs on a `pmg serve` child process for a bounded
// time. No 5xx, every accepted job completes, requests beyond the queue get 429, and the server's peak RSS is printed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { readVmHwm } from '../bench/peak-memory.js';
import { runServeLoad } from '../bench/serve-load.js';
import { serveFixtureModels } from '../testing/serve-fixture.js';
import { startServeProcess } from '../testing/serve-process.js';

test('50 concurrent clients for 6 s: no 5xx, every accepted job done, 429 beyond the queue, peak RSS reported', async () => {
  const models = await serveFixtureModels();
  const dataDir = mkdtempSync(join(tmpdir(), 'pmg-serve-load-'));
  const server = await startServeProcess(['--models', models, '--data-dir', dataDir, '--queue-size', '8'], {
    PMG_CACHE_DIR: join(dataDir, 'cache'),
    PMG_OFFLINE: '1',
  });
  try {
    const job = {
      scene: 'movie',
      history: [{ title: 'Alien' }],
      target: { title: 'Up' },
      steps: 2,
      width: 32,
      height: 32,
    };
    const result = await runServeLoad({
      url: server.url,
      clients: 50,
      durationMs: 6000,
      job,
    });
    const peak = readVmHwm(server.child.pid!);
    process.stdout.write(
      `load: ${result.accepted} jobs accepted and followed, statuses ${JSON.stringify(result.statuses)}, endings ${JSON.stringify(result.endings)}, ` +
        `server peak RSS ${peak === undefined ? 'n/a' : `${(peak / 2 ** 20).toFixed(0)} MiB`}, ${(result.wallMs / 1000).toFixed(1)} s\n`,
    );
    assert.deepEqual(
      Object.keys(result.statuses).filter((s) => Number(s) >= 500),
      [],
    );
    assert.deepEqual(Object.keys(result.statuses).sort(), ['202', '429']);
    assert.ok(result.accepted > 0);
    assert.deepEqual(result.endings, { done: result.accepted });
    assert.ok(result.retryAfter.every((s) => Number.isInteger(s) && s >= 1));
    if (peak !== undefined) assert.ok(peak < 2 * 2 ** 30, `peak RSS ${peak}`);
    assert.equal(await server.stop('SIGTERM'), 0, server.stderr());
  } finally {
    await server.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
