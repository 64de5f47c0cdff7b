import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { BullJobQueue, startQueueWorker } from './bullmq-queue.js';
import { InProcessQueue } from './in-process-queue.js';
import { QueueJobFailed, type JobHandler, type JobQueue, type QueueProgress } from './job-queue.js';
import { parseQueueUrl, type RedisQueueTarget } from './queue-url.js';
import { redisSkip, startRedis, type RedisServer } from '../testing/redis-server.js';

interface Unit {
  x: number;
  failTimes?: number;
}

/** Doubles x; reports two steps; fails the first `failTimes` tries of each key. */
function handler(calls: Map<number, number>): JobHandler<Unit, { doubled: number }> {
  return async (data, report) => {
    const n = (calls.get(data.x) ?? 0) + 1;
    calls.set(data.x, n);
    report({ stage: 'generate', step: 1, total: 2 });
    report({ stage: 'generate', step: 2, total: 2 });
    if (n <= (data.failTimes ?? 0)) throw new Error(`boom ${n}\nsecond line`);
    return { doubled: data.x * 2 };
  };
}

async function contract(queue: JobQueue<Unit, { doubled: number }>, calls: Map<number, number>) {
  const progress: QueueProgress[] = [];
  assert.deepEqual(await queue.run('k-21', { x: 21 }, { onProgress: (p) => progress.push(p) }), { doubled: 42 });
  // Progress arrives through the queue (the Redis backend's events are asynchronous: wait for them).
  for (let i = 0; i < 50 && progress.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(progress.at(-1), { stage: 'generate', step: 2, total: 2 });
  // Idempotent: the same key again (even with other data) returns the first result and runs nothing.
  assert.deepEqual(await queue.run('k-21', { x: 99 }), { doubled: 42 });
  const [a, b] = await Promise.all([queue.run('k-5', { x: 5 }), queue.run('k-5', { x: 5 })]);
  assert.deepEqual([a, b], [{ doubled: 10 }, { doubled: 10 }]);
  assert.equal(calls.get(21), 1);
  assert.equal(calls.get(99), undefined);
  assert.equal(calls.get(5), 1);
  // Bounded retries: 2 failures then success; 3 failures of 3 attempts → failed with the last reason.
  assert.deepEqual(await queue.run('k-7', { x: 7, failTimes: 2 }), { doubled: 14 });
  assert.equal(calls.get(7), 3);
  await assert.rejects(queue.run('k-8', { x: 8, failTimes: 10 }), (error: unknown) => {
    assert.ok(error instanceof QueueJobFailed);
    assert.equal(error.reason, 'boom 3');
    assert.equal(error.attempts, 3);
    return true;
  });
  assert.equal(calls.get(8), 3);
}

describe('InProcessQueue', () => {
  it('runs, relays progress, is idempotent per key and retries a bounded number of times', async () => {
    const calls = new Map<number, number>();
    const queue = new InProcessQueue(handler(calls), { attempts: 3, backoffMs: 5 });
    await contract(queue, calls);
    await queue.close();
  });
});

describe('BullJobQueue (real redis-server on loopback)', { skip: redisSkip }, () => {
  let redis: RedisServer;
  let target: RedisQueueTarget;
  before(async () => {
    redis = await startRedis();
    target = parseQueueUrl(redis.url, {}) as RedisQueueTarget;
  });
  after(() => redis?.stop());

  it('round trip through a worker: progress, idempotent duplicates, retries then failed with the reason', async () => {
    const calls = new Map<number, number>();
    const worker = await startQueueWorker(target, handler(calls), { concurrency: 2 }, 'test-contract');
    const queue = await BullJobQueue.open<Unit, { doubled: number }>(target, 'test-contract', { retry: { attempts: 3, backoffMs: 10 } });
    try {
      await contract(queue, calls);
      // A failed key enqueued again (a resumed run) gets a fresh set of tries.
      await assert.rejects(queue.run('k-8', { x: 8, failTimes: 10 }), QueueJobFailed);
      assert.equal(calls.get(8), 6);
      assert.deepEqual(await queue.counts(), { waiting: 0, active: 0, completed: 3, failed: 1, delayed: 0 });
    } finally {
      await queue.close();
      await worker.close();
    }
  });

  it('a job whose worker is SIGKILLed is delivered again by the stalled-job check', async () => {
    // A worker process that takes the job and never finishes it, killed once it holds the job.
    const script = `import { startQueueWorker } from ${JSON.stringify(new URL('./bullmq-queue.js', import.meta.url).href)};
      await startQueueWorker(${JSON.stringify(target)}, () => new Promise(() => undefined), { lockDurationMs: 400, stalledIntervalMs: 200 }, 'test-stall');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    const queue = await BullJobQueue.open<Unit, { doubled: number }>(target, 'test-stall', { retry: { attempts: 2, backoffMs: 10 } });
    const calls = new Map<number, number>();
    let healthy: { close(): Promise<void> } | undefined;
    try {
      const result = queue.run('k-s', { x: 4 });
      for (let i = 0; i < 200 && (await queue.counts()).active === 0; i++) await sleep(25);
      assert.equal((await queue.counts()).active, 1, 'the doomed worker holds the job');
      child.kill('SIGKILL');
      healthy = await startQueueWorker(target, handler(calls), { lockDurationMs: 400, stalledIntervalMs: 200 }, 'test-stall');
      assert.deepEqual(await result, { doubled: 8 });
      assert.equal(calls.get(4), 1);
    } finally {
      child.kill('SIGKILL');
      await queue.close();
      await healthy?.close();
    }
  });

  it('an unreachable Redis fails in one line naming the queue', async () => {
    const gone = await startRedis();
    await gone.stop();
    const target = parseQueueUrl(gone.url, {}) as RedisQueueTarget;
    await assert.rejects(BullJobQueue.open(target), (error: Error) => {
      assert.match(
        error.message,
        new RegExp(`^--queue redis://127\\.0\\.0\\.1:${gone.port}/0: cannot reach Redis \\(.*\\); start redis-server there or fix the URL$`),
      );
      return true;
    });
  });
});
