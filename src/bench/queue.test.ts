import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../core/package-root.js';
import { redisSkip } from '../testing/redis-server.js';
import { benchQueue, formatQueueBench } from './queue.js';

describe('pmg bench queue', () => {
  it('times a unit in process and through the queue, and 1 and 2 worker processes (tiny settings)', { skip: redisSkip }, async () => {
    const lines: string[] = [];
    const result = await benchQueue({ jobs: 1, units: 2, steps: 2, size: 32, unetScale: 1 }, (line) => lines.push(line));
    assert.ok(result.inProcessMs > 0 && result.queuedMs > 0, JSON.stringify(result));
    // One round: the median of the rounds' paired differences is that round's difference.
    assert.equal(result.overheadMs, result.queuedMs - result.inProcessMs);
    assert.deepEqual(
      result.throughput.map((t) => [t.workers, t.units]),
      [
        [1, 2],
        [2, 2],
      ],
    );
    assert.ok(result.throughput.every((t) => t.jobsPerMinute > 0 && Math.abs(t.jobsPerMinute - 120_000 / t.ms) < 1e-6));
    const text = formatQueueBench(result, 'pmg bench queue --jobs 1');
    assert.match(text, /^command: pmg bench queue --jobs 1\nmachine: .+, \d+ cores, /);
    assert.match(text, /queue cost per job \(paired median\) +-?\d+\.\d\d ms = -?\d+\.\d\d% of a fixture generation \(goal <= 2%\)/);
    assert.match(text, /\n {2}2 worker\(s\) +\d+\.\d jobs\/min/);
    assert.match(text, /the workers are CPU-bound: on this \d+-core machine/);
    assert.ok(lines.some((line) => line.startsWith('throughput: 2 units, 2 pmg worker process(es)')));
  });

  it('without redis-server: one line saying so, exit 1', () => {
    const run = spawnSync(process.execPath, [join(packageRoot(), 'bin', 'pmg.js'), 'bench', 'queue'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PMG_REDIS_SERVER: '/nonexistent/redis-server' },
      encoding: 'utf8',
    });
    assert.equal(run.stderr, 'pmg: pmg bench queue starts its own Redis, but /nonexistent/redis-server is not installed (apt-get install redis-server)\n');
    assert.notEqual(run.status, 0);
    assert.equal(run.stdout, '');
  });
});
