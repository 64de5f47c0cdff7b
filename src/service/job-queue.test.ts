import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PmgError } from '../errors/pmg-error.js';
import { jobServiceFixture, smallMovieJob, type JobServiceFixture } from '../testing/job-service-fixture.js';

let fx: JobServiceFixture;

before(async () => {
  fx = await jobServiceFixture('pmg-job-queue-');
});
after(async () => {
  await fx.close();
});

/** Long enough to cancel or time out mid-way on the fixtures (each step is milliseconds). */
const longJob = (): Record<string, unknown> => smallMovieJob({ steps: 400 });

test('cancel: a queued job is cancelled at once; a running one stops within a step and ends cancelled, not failed', async () => {
  const service = await fx.open();
  const running = service.submit('generation', longJob());
  const queued = service.submit('generation', smallMovieJob());
  assert.equal(running.state, 'running');
  assert.equal(queued.state, 'queued');
  assert.equal(queued.queuePosition, 0);
  const cancelledQueued = service.cancel(queued.id)!;
  assert.equal(cancelledQueued.state, 'cancelled');
  assert.deepEqual(
    service.events(queued.id).map((e) => e.type),
    ['queued', 'cancelled'],
  );
  // Cancel the running job once it has taken a step.
  let cancelledAt = -1;
  let stepsAfter = 0;
  const firstStep = new Promise<void>((resolve) => {
    service.subscribe(running.id, (event) => {
      if (event.type !== 'step') return;
      if (cancelledAt < 0) {
        cancelledAt = event.data.step as number;
        service.cancel(running.id);
        resolve();
      } else stepsAfter += 1;
    });
  });
  await firstStep;
  const ended = await service.wait(running.id);
  assert.equal(ended.state, 'cancelled');
  assert.equal(ended.error, undefined);
  assert.ok(stepsAfter <= 1, `${stepsAfter} steps after the cancel`);
  const types = service.events(running.id).map((e) => e.type);
  assert.equal(types.at(-1), 'cancelled');
  assert.ok(!types.includes('done') && !types.includes('error'));
  assert.equal(service.cancel(running.id)!.state, 'cancelled', 'cancelling an ended job changes nothing');
  assert.equal(service.cancel('j_aaaaaaaaaaaaaaaaaaaa'), undefined);
  assert.deepEqual(service.stats(), { queued: 0, running: 0, capacity: 16 });
});

test('a full queue refuses with queue-full and a Retry-After estimate of at least 1 s', async () => {
  const service = await fx.open({ queueSize: 1 });
  const a = service.submit('generation', longJob());
  const b = service.submit('generation', smallMovieJob());
  assert.deepEqual(service.stats(), { queued: 1, running: 1, capacity: 1 });
  let refused: unknown;
  try {
    service.submit('generation', smallMovieJob());
  } catch (error) {
    refused = error;
  }
  assert.ok(refused instanceof PmgError);
  assert.equal(refused.code, 'queue-full');
  assert.ok(
    Number.isInteger(refused.details.retryAfterSeconds) && (refused.details.retryAfterSeconds as number) >= 1,
    String(refused.details.retryAfterSeconds),
  );
  assert.equal(service.list().length, 2, 'the refused job is not stored');
  service.cancel(a.id);
  assert.equal((await service.wait(b.id)).state, 'done');
  // A queue of 0 still runs a job when a slot is free, and refuses the next while it runs.
  const none = await fx.open({ queueSize: 0 });
  const only = none.submit('generation', smallMovieJob());
  assert.equal(only.state, 'running');
  assert.throws(() => none.submit('generation', smallMovieJob()), /queue is full/);
  assert.equal((await none.wait(only.id)).state, 'done');
});

test('a job past its time limit fails with code timeout', async () => {
  const service = await fx.open({ jobTimeoutMs: 400 });
  const job = service.submit('generation', smallMovieJob({ steps: 1000 }));
  const ended = await service.wait(job.id);
  assert.equal(ended.state, 'failed');
  assert.equal(ended.error?.code, 'timeout');
  assert.match(ended.error!.message, /time limit of 0\.4 s/);
  const last = service.events(job.id).at(-1)!;
  assert.equal(last.type, 'error');
  assert.equal(last.data.code, 'timeout');
});

test('a job that fails at run time records the error code, message and field', async () => {
  const service = await fx.open();
  // The fixtures have no tiny decoder: finalDecoder tiny passes the job validator and fails when personalize runs.
  const job = service.submit('generation', smallMovieJob({ finalDecoder: 'tiny' }));
  const ended = await service.wait(job.id);
  assert.equal(ended.state, 'failed');
  assert.equal(ended.error?.code, 'invalid-argument');
  assert.equal(ended.error?.field, 'finalDecoder');
  assert.ok(!ended.error!.message.includes('\n'));
  assert.deepEqual(service.events(job.id).at(-1)!.data, ended.error);
});

test('wait stops when its signal aborts; close wakes the waiters and leaves running jobs running', async () => {
  const service = await fx.open({ data: 'closing' });
  const job = service.submit('generation', smallMovieJob({ steps: 60 }));
  const controller = new AbortController();
  const waiting = service.wait(job.id, { signal: controller.signal });
  controller.abort();
  await assert.rejects(waiting, /stopped waiting/);
  const woken = service.wait(job.id);
  await service.close();
  const record = await woken;
  assert.equal(record.state, 'running');
  assert.throws(() => service.submit('generation', smallMovieJob()), /closed/);
  assert.equal(service.ready(), false);
  // The next open runs it again (attempt 2) to the end.
  const reopened = await fx.open({ data: 'closing' });
  const again = await reopened.wait(job.id);
  assert.equal(again.state, 'done', JSON.stringify(again.error));
  assert.equal(again.attempts, 2);
});
