import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jobServiceFixture, smallMovieJob, type JobServiceFixture } from '../testing/job-service-fixture.js';
import { JobStore } from './job-store.js';

let fx: JobServiceFixture;

before(async () => {
  fx = await jobServiceFixture('pmg-job-restart-');
});
after(async () => {
  await fx.close();
});

const child = fileURLToPath(new URL('../testing/job-service-child.js', import.meta.url));

/**
 * Runs the child on `data`: it finishes a small job, starts a long one, and is SIGKILLed once the long job's first
 * 'step' event is in the database. Returns both ids.
 */
async function killDuringJob(data: string): Promise<{ finished: string; killed: string }> {
  const dataDir = join(fx.root, data);
  const proc = spawn(process.execPath, [child, dataDir, fx.models, JSON.stringify(smallMovieJob()), JSON.stringify(smallMovieJob({ steps: 150 }))], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (chunk: Buffer) => (stdout += String(chunk)));
  proc.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
  const deadline = Date.now() + 60_000;
  let store: JobStore | undefined;
  try {
    for (;;) {
      assert.ok(Date.now() < deadline, `no step event in time; child stderr: ${stderr}`);
      assert.equal(proc.exitCode, null, `the child ended early: ${stderr}`);
      const ids = stdout.split('\n').filter(Boolean);
      if (ids.length === 2) {
        store ??= new JobStore(join(dataDir, 'pmg.sqlite'));
        if (store.events(ids[1]!).some((e) => e.type === 'step')) {
          proc.kill('SIGKILL');
          assert.equal(await exited, 'SIGKILL');
          assert.equal(store.get(ids[1]!)!.state, 'running', 'killed while running');
          assert.equal(store.get(ids[0]!)!.state, 'done');
          return { finished: ids[0]!, killed: ids[1]! };
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    store?.close();
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
}

test('SIGKILL during a job: the next open runs it again to the end, and finished results are still served', async () => {
  const { finished, killed } = await killDuringJob('restart-a');
  const service = await fx.open({ data: 'restart-a' });
  const before = service.get(finished)!;
  assert.equal(before.state, 'done');
  assert.ok(readFileSync(service.imageFile(finished, 'best')!).length > 0);
  assert.ok(JSON.parse(readFileSync(service.resultFile(finished)!, 'utf8')).candidates);
  const ended = await service.wait(killed);
  assert.equal(ended.state, 'done', JSON.stringify(ended.error));
  assert.equal(ended.attempts, 2);
  const events = service.events(killed);
  assert.deepEqual(
    events.map((e) => e.id),
    events.map((_, i) => i + 1),
    'event ids continue across the restart',
  );
  const requeued = events.find((e) => e.type === 'queued' && e.data.requeued === true);
  assert.ok(requeued, events.map((e) => e.type).join(' '));
  assert.deepEqual(requeued.data, { position: 0, requeued: true, reason: 'the server stopped while this job ran (attempt 1 of 2)' });
  assert.deepEqual(
    events.filter((e) => e.type === 'started').map((e) => e.data.attempt),
    [1, 2],
  );
  assert.equal(events.at(-1)!.type, 'done');
  assert.ok(service.imageFile(killed, 'best'));
});

test('SIGKILL during a job with maxAttempts 1: the next open marks it failed, interrupted, with the reason', async () => {
  const { killed } = await killDuringJob('restart-b');
  const service = await fx.open({ data: 'restart-b', maxAttempts: 1 });
  const record = service.get(killed)!;
  assert.equal(record.state, 'failed');
  assert.deepEqual(record.error, { code: 'interrupted', message: 'the server stopped while this job ran (attempt 1 of 1)' });
  assert.ok(record.finishedAt);
  const last = service.events(killed).at(-1)!;
  assert.equal(last.type, 'error');
  assert.equal(last.data.code, 'interrupted');
  assert.deepEqual(service.stats(), { queued: 0, running: 0, capacity: 16 });
});
