import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeImageRgb, encodePng } from '../core/image-io.js';
import { packageRoot } from '../core/package-root.js';
import { BullJobQueue } from '../queue/bullmq-queue.js';
import { parseQueueUrl, type RedisQueueTarget } from '../queue/queue-url.js';
import type { JobEvent } from '../service/job-types.js';
import { freePort, redisSkip, startRedis, type RedisServer } from '../testing/redis-server.js';
import { runCli } from '../testing/run-cli.js';
import { modelsSchema, readySchema } from './response-schemas.js';
import { errorOf, readEvents, serveFixtureModels, startServeFixture, tinyJob, type ServeFixture } from '../testing/serve-fixture.js';
import { until } from '../testing/until.js';

interface Result {
  chosen: number;
  candidates: { weights: unknown; dp: number; dt: number; z: number }[];
}

/** A job's SSE stream from the start to its end, and the job's record then. */
async function runJob(fx: ServeFixture, job: unknown): Promise<{ id: string; events: JobEvent[] }> {
  const response = await fx.post('/v1/generations', job);
  assert.equal(response.status, 202, await response.clone().text());
  const { id } = (await response.json()) as { id: string };
  const { events } = await readEvents(await fx.call(`/v1/generations/${id}/events`));
  return { id, events };
}

/** The events as the client sees their order and content (ids and times aside). */
function shape(events: JobEvent[]): string[] {
  return events.map((e) => {
    if (e.type === 'step') {
      const data = e.data as { step: number; total: number; previews: { candidate: number; image: string }[] };
      return `step ${data.step}/${data.total} ${data.previews.map((p) => p.image).join(',')}`;
    }
    if (e.type === 'candidate') return `candidate ${JSON.stringify(e.data)}`;
    if (e.type === 'keywords') return `keywords ${JSON.stringify(e.data)}`;
    if (e.type === 'done') return `done ${(e.data as { chosen: number }).chosen}`;
    return e.type;
  });
}

describe('pmg serve --queue: jobs run on pmg worker processes, SSE relays their progress (real redis-server)', { skip: redisSkip }, () => {
  let redis: RedisServer;
  let models: string;
  let target: RedisQueueTarget;
  const workers: ChildProcess[] = [];
  let workerLog = '';
  const servers: ServeFixture[] = [];

  before(async () => {
    models = await serveFixtureModels();
    redis = await startRedis();
    target = parseQueueUrl(redis.url, {}) as RedisQueueTarget;
  });
  after(async () => {
    for (const server of servers) await server.close();
    for (const worker of workers) worker.kill('SIGKILL');
    await redis?.stop();
  });

  async function serve(queue: RedisQueueTarget | undefined, dataDir?: string): Promise<ServeFixture> {
    const fx = await startServeFixture({ service: queue ? { queue } : {}, ...(dataDir ? { dataDir } : {}) });
    servers.push(fx);
    return fx;
  }

  function startWorker(url = redis.url): void {
    const worker = spawn(process.execPath, [join(packageRoot(), 'bin', 'pmg.js'), 'worker', '--queue', url, '--models', models, '--lock-duration', '2000'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PMG_OFFLINE: '1', PMG_CACHE_DIR: join(models, '..', 'worker-cache') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    worker.stderr!.on('data', (chunk) => (workerLog += String(chunk)));
    workers.push(worker);
  }

  it('a generation job ends done with the bytes, scores and event sequence of the same job in process', async () => {
    startWorker();
    const queued = await serve(target);
    const local = await serve(undefined);
    const there = await runJob(queued, tinyJob);
    const here = await runJob(local, tinyJob);
    assert.equal(there.events.at(-1)?.type, 'done', `${JSON.stringify(there.events.at(-1))}\n${workerLog}`);
    // The worker's log line comes through a pipe, possibly after the server heard of the completion through Redis.
    await until(async () => workerLog.includes(`done ${there.id}`), 'a worker ran it, under the service job id');

    // SSE: queued, started, keywords, every step with its previews, one candidate each, done — as in process.
    assert.deepEqual(shape(there.events).slice(1), shape(here.events).slice(1));
    const steps = there.events.filter((e) => e.type === 'step').map((e) => (e.data as { step: number }).step);
    assert.deepEqual(steps, [1, 2, 3, 4]);
    assert.deepEqual(
      there.events.map((e) => e.type),
      ['queued', 'started', 'keywords', 'step', 'step', 'step', 'step', 'candidate', 'candidate', 'done'],
    );
    const preview = await queued.call(`/v1/generations/${there.id}/images/preview-0.png?v=3`);
    assert.equal(preview.status, 200);
    assert.equal(preview.headers.get('content-type'), 'image/png');

    const ours = (await (await queued.call(`/v1/generations/${there.id}/result.json`)).json()) as Result;
    const theirs = (await (await local.call(`/v1/generations/${here.id}/result.json`)).json()) as Result;
    assert.equal(ours.chosen, theirs.chosen);
    assert.deepEqual(
      ours.candidates.map((c) => [c.weights, c.dp, c.dt, c.z]),
      theirs.candidates.map((c) => [c.weights, c.dp, c.dt, c.z]),
    );
    for (const name of ['best', 'candidate-0', 'candidate-1']) {
      const a = Buffer.from(await (await queued.call(`/v1/generations/${there.id}/images/${name}.png`)).arrayBuffer());
      const b = Buffer.from(await (await local.call(`/v1/generations/${here.id}/images/${name}.png`)).arrayBuffer());
      assert.ok(a.length > 0 && a.equals(b), `${name}.png equals the in-process one`);
    }
  });

  it('a txt2img job (the A1111 route) runs on the worker too: the pixels of the in-process image', async () => {
    const queued = await serve(target);
    const local = await serve(undefined);
    const body = { prompt: 'a red cube', steps: 3, width: 64, height: 64, seed: 7, batch_size: 2 };
    const there = (await (await queued.post('/sdapi/v1/txt2img', body)).json()) as { images: string[]; info: string };
    const here = (await (await local.post('/sdapi/v1/txt2img', body)).json()) as { images: string[]; info: string };
    assert.equal(there.images.length, 2, JSON.stringify(there).slice(0, 300));
    for (const [i, image] of there.images.entries()) {
      const a = await decodeImageRgb(Buffer.from(image, 'base64'));
      const b = await decodeImageRgb(Buffer.from(here.images[i]!, 'base64'));
      assert.deepEqual([a.width, a.height], [64, 64]);
      assert.ok(Buffer.from(a.data).equals(Buffer.from(b.data)), `image ${i}: the in-process pixels`);
    }
    assert.deepEqual((JSON.parse(there.info) as { all_seeds: number[] }).all_seeds, (JSON.parse(here.info) as { all_seeds: number[] }).all_seeds);
    const [job] = ((await (await queued.call('/v1/generations?limit=1')).json()) as { jobs: { id: string; kind: string }[] }).jobs;
    assert.equal(job?.kind, 'txt2img');
    await until(async () => workerLog.includes(`done ${job!.id}`), 'a worker ran it');
    const { events } = await readEvents(await queued.call(`/v1/generations/${job!.id}/events`));
    assert.deepEqual(
      events.map((e) => e.type),
      ['queued', 'started', 'step', 'step', 'step', 'done'],
    );
  });

  it('/readyz and /v1/models report Redis and the connected workers', async () => {
    const queued = await serve(target);
    const ready = await queued.call('/readyz');
    assert.equal(ready.status, 200);
    const body = readySchema.parse(await ready.json());
    assert.equal(body.workers, 1);
    const listed = modelsSchema.parse(await (await queued.call('/v1/models')).json());
    assert.deepEqual(listed.queue, { url: `redis://127.0.0.1:${redis.port}/0`, workers: 1 });
    assert.deepEqual(listed.soft, []);
    assert.equal(listed.captioner, false);
  });

  it('what the queue cannot carry is refused with 400 naming the field, before anything is enqueued', async () => {
    const queued = await serve(target);
    const soft = await errorOf(await queued.post('/v1/generations', { ...tinyJob, method: 'soft', soft: { module: 'style' } }));
    assert.equal(soft.status, 400);
    assert.equal(soft.field, 'soft');
    assert.match(soft.message, /^soft: .*queue workers.*drop soft/);

    const png = await encodePng({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) });
    const upload = await queued.call('/v1/uploads', { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
    assert.equal(upload.status, 201);
    const { path } = (await upload.json()) as { path: string };
    const image = await errorOf(await queued.post('/v1/generations', { ...tinyJob, history: [{ title: 'Alien' }, { image: path }] }));
    assert.equal(image.status, 400);
    assert.equal(image.field, 'history.items[1].image');
    assert.doesNotMatch(image.message, /\n/);

    const keywords = await errorOf(await queued.post('/v1/keywords', { scene: 'movie', history: tinyJob.history, target: tinyJob.target }));
    assert.equal(keywords.status, 400);
    assert.match(keywords.message, /^POST \/v1\/keywords is not served with --queue/);

    const list = (await (await queued.call('/v1/generations')).json()) as { jobs: unknown[] };
    assert.equal(list.jobs.length, 0, 'no job was recorded');
  });

  it('cancelling a job that waits in Redis removes it there: it never runs', async () => {
    const idle = { ...target, db: 1 }; // a database no worker serves
    const queued = await serve(idle);
    const probe = await BullJobQueue.open(idle);
    try {
      const response = await queued.post('/v1/generations', tinyJob);
      const { id } = (await response.json()) as { id: string };
      await until(async () => (await probe.counts()).waiting === 1, 'the job waits in Redis');
      const cancelled = (await (await queued.call(`/v1/generations/${id}`, { method: 'DELETE' })).json()) as { state: string };
      assert.equal(cancelled.state === 'cancelled' || cancelled.state === 'running', true);
      const { events } = await readEvents(await queued.call(`/v1/generations/${id}/events`));
      assert.equal(events.at(-1)?.type, 'cancelled');
      assert.equal((await probe.counts()).waiting, 0, 'removed from Redis');
    } finally {
      await probe.close();
    }
  });

  it('cancelling a job a worker runs ends it cancelled at once; the worker finishes and its result is discarded', async () => {
    const queued = await serve(target);
    const { id } = (await (await queued.post('/v1/generations', { ...tinyJob, steps: 30 })).json()) as { id: string };
    await readEvents(await queued.call(`/v1/generations/${id}/events`), (e) => e.type === 'step');
    const cancelled = (await (await queued.call(`/v1/generations/${id}`, { method: 'DELETE' })).json()) as { state: string };
    const ended = await queued.service.wait(id);
    assert.equal(ended.state, 'cancelled', `DELETE answered ${cancelled.state}`);
    await until(async () => workerLog.includes(`done ${id}`), 'the worker finished it');
    await new Promise((r) => setTimeout(r, 200));
    const after = queued.service.get(id)!;
    assert.equal(after.state, 'cancelled');
    assert.ok(!after.images.includes('best') && queued.service.resultFile(id) === undefined, 'no result written');
    assert.equal(queued.service.events(id).at(-1)?.type, 'cancelled');
  });

  it('a job past --job-timeout while it waits in Redis fails with code timeout and leaves the queue', async () => {
    const db = { ...target, db: 3 }; // no worker serves it
    const fx = await startServeFixture({ service: { queue: db, jobTimeoutMs: 400 } });
    servers.push(fx);
    const probe = await BullJobQueue.open(db);
    try {
      const { id } = (await (await fx.post('/v1/generations', tinyJob)).json()) as { id: string };
      const ended = await fx.service.wait(id);
      assert.equal(ended.state, 'failed');
      assert.equal(ended.error?.code, 'timeout');
      await until(async () => (await probe.counts()).waiting === 0, 'removed from Redis');
    } finally {
      await probe.close();
    }
  });

  it('a restarted service re-attaches to the queue job of a job it was running: one generation, not two', async () => {
    const db = { ...target, db: 2 };
    const dataDir = mkdtempSync(join(tmpdir(), 'pmg-serve-queue-restart-'));
    const probe = await BullJobQueue.open(db);
    try {
      const first = await startServeFixture({ service: { queue: db }, dataDir });
      const { id } = (await (await first.post('/v1/generations', tinyJob)).json()) as { id: string };
      await until(async () => (await probe.counts()).waiting === 1, 'the job waits in Redis');
      await first.close(); // shutdown: the job stays 'running' in SQLite and waiting in Redis
      assert.equal((await probe.counts()).waiting, 1, 'shutdown leaves the queue job');

      const second = await serve(db, dataDir);
      await until(async () => second.service.get(id)?.attempts === 2, 'the job runs again after the restart');
      assert.equal((await probe.counts()).waiting, 1, 'the second attempt re-attached: still one queue job');
      startWorker(`${redis.url}/2`);
      const done = await second.service.wait(id);
      assert.equal(done.state, 'done', JSON.stringify(done.error));
      await until(async () => (await probe.counts()).completed === 1, 'one completion');
      assert.equal(workerLog.split(`started ${id}`).length - 1, 1, 'generated once');
    } finally {
      await probe.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('pmg serve --queue with Redis unreachable: one line, exit non-zero, nothing listening', async () => {
    const port = await freePort();
    const run = await runCli(['serve', '--queue', `redis://127.0.0.1:${port}`, '--models', models, '--port', '0', '--data-dir', join(models, '..', 'gone')], {
      cwd: join(models, '..'),
      env: { PMG_OFFLINE: '1', PMG_CACHE_DIR: join(models, '..', 'cli-cache') },
    });
    assert.notEqual(run.code, 0);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`--queue redis://127\\.0\\.0\\.1:${port}/0: cannot reach Redis`));
  });
});
