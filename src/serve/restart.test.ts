// Restart: `pmg serve` is SIGKILLed while a job runs and started again on the same data folder; every job ends done
// or failed with a reason, and the images of finished jobs still download.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import type { JobRecord } from '../service/job-types.js';
import { readEvents, serveFixtureModels, tinyJob } from '../testing/serve-fixture.js';
import { startServeProcess, type ServeProcess } from '../testing/serve-process.js';
import { sniffImageType } from './upload-store.js';

async function post(url: string, body: unknown): Promise<string> {
  const response = await fetch(`${url}/v1/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 202, await response.clone().text());
  return ((await response.json()) as { id: string }).id;
}

async function ended(url: string, id: string): Promise<JobRecord> {
  const { events } = await readEvents(await fetch(`${url}/v1/generations/${id}/events`));
  assert.ok(['done', 'error', 'cancelled'].includes(events.at(-1)?.type ?? ''), `job ${id} stream ended with ${events.at(-1)?.type}`);
  return (await (await fetch(`${url}/v1/generations/${id}`)).json()) as JobRecord;
}

test('after SIGKILL during a job and a restart, every job ends done or failed with a reason; finished images still download', async () => {
  const models = await serveFixtureModels();
  const dataDir = mkdtempSync(join(tmpdir(), 'pmg-serve-restart-'));
  const args = ['--models', models, '--data-dir', dataDir];
  const env = { PMG_CACHE_DIR: join(dataDir, 'cache'), PMG_OFFLINE: '1' };
  let server: ServeProcess | undefined;
  try {
    server = await startServeProcess(args, env);
    const finished = await post(server.url, tinyJob);
    assert.equal((await ended(server.url, finished)).state, 'done');
    const running = await post(server.url, { ...tinyJob, steps: 60 });
    const queued = await post(server.url, tinyJob);
    const before = await readEvents(await fetch(`${server.url}/v1/generations/${running}/events`), (e) => e.type === 'step');
    assert.equal(before.events.at(-1)!.type, 'step');
    assert.equal(await server.stop('SIGKILL'), 'SIGKILL');

    server = await startServeProcess(args, env);
    for (const id of [running, queued]) {
      const record = await ended(server.url, id);
      assert.ok(record.state === 'done' || (record.state === 'failed' && record.error?.message), `${id}: ${record.state} ${JSON.stringify(record.error)}`);
    }
    // The interrupted job's events continue after the ones sent before the kill (no id is reused).
    const all = (await readEvents(await fetch(`${server.url}/v1/generations/${running}/events`))).events;
    assert.deepEqual(
      all.map((e) => e.id),
      all.map((_, i) => i + 1),
    );
    assert.ok(all.length > before.events.length);
    for (const id of [finished, running, queued]) {
      const record = (await (await fetch(`${server.url}/v1/generations/${id}`)).json()) as JobRecord;
      if (record.state !== 'done') continue;
      const png = await fetch(`${server.url}/v1/generations/${id}/images/best.png`);
      assert.equal(png.status, 200, id);
      assert.equal(sniffImageType(new Uint8Array(await png.arrayBuffer())), 'image/png');
    }
    assert.equal(await server.stop('SIGTERM'), 0, server.stderr());
  } finally {
    await server?.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
