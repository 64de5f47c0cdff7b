import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assetPath, packageRoot } from '../../core/package-root.js';
import { writeFixtures } from '../../fixtures/write-fixtures.js';
import { startA1111Server, type FakeA1111Server } from '../../testing/a1111-server.js';
import { evalArgv, writeEvalModels, writePosters } from '../../testing/eval-fixture.js';
import { redisSkip, startRedis } from '../../testing/redis-server.js';
import { runCliOffline } from '../../testing/run-cli.js';

const excerpt = assetPath('test-data', 'movielens-excerpt');

describe('pmg eval --generator and pmg worker --generator (an A1111-protocol server on loopback)', () => {
  let tmp: string;
  let a1111: FakeA1111Server;
  const argv = () => [...evalArgv(excerpt, { limit: 2 }), '--methods', 'target-only,pmg', '--alpha', '0.5', '--generator', `a1111:${a1111.baseUrl}`];

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'pmg-eval-remote-'));
    await writeEvalModels(join(tmp, 'fx'));
    await writeFixtures(join(tmp, 'fx'), { only: ['soft'] });
    await writePosters(excerpt, join(tmp, 'posters'));
    a1111 = await startA1111Server({ stepMs: 1 });
  });
  after(async () => {
    await a1111?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('eval --generator runs the diffusion stage on the server and records the generator in the run config and report', async () => {
    const sent = a1111.completed;
    const run = await runCliOffline([...argv(), '--out', 'runs/remote'], tmp);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^2 sample\(s\) evaluated \(0 from an earlier start, 4 generation call\(s\) now\); skipped: none$/m);
    // target-only: 1 candidate, pmg: the default weights' candidates; each one txt2img call.
    assert.ok(a1111.completed - sent >= 4, `${a1111.completed - sent} txt2img calls`);
    assert.match(readFileSync(join(tmp, 'runs/remote/report.md'), 'utf8'), new RegExp(`models: .*, generator a1111:${a1111.baseUrl.replace(/[.]/g, '\\.')};`));
    const again = await runCliOffline([...argv().slice(0, -2), '--out', 'runs/remote'], tmp);
    assert.equal(again.code, 2, 'a resume without the generator is another config');
  });

  it('refuses what the remote generator cannot do, in one line, before anything runs', async () => {
    const soft = await runCliOffline([...argv(), '--methods', 'target-only,soft', '--soft', 'fx/soft', '--out', 'runs/soft'], tmp);
    assert.equal(soft.code, 2);
    assert.equal(
      soft.stderr,
      `pmg: --soft: the image generator a1111:${a1111.baseUrl} cannot take soft preference tokens; use another method than soft (e.g. pmg)\n`,
    );
    const bad = await runCliOffline([...argv().slice(0, -2), '--generator', 'sdxl:http://x', '--out', 'runs/bad'], tmp);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^pmg: --generator: 'sdxl:http:\/\/x' is not a remote generator; write a1111:http:\/\/host:port or comfyui:/);
  });

  it('pmg worker --generator serves an eval --queue: the same results.csv as the in-process eval', { skip: redisSkip }, async () => {
    const redis = await startRedis();
    const worker = spawn(
      process.execPath,
      [join(packageRoot(), 'bin', 'pmg.js'), 'worker', '--queue', redis.url, '--models', 'fx', '--generator', `a1111:${a1111.baseUrl}`],
      {
        cwd: tmp,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, PMG_OFFLINE: '1', PMG_CACHE_DIR: join(tmp, 'cache') },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let log = '';
    worker.stderr!.on('data', (chunk) => (log += String(chunk)));
    try {
      for (let i = 0; i < 600 && !log.includes('ready on'); i++) await new Promise((r) => setTimeout(r, 25));
      assert.match(
        log,
        new RegExp(
          `ready on redis://127\\.0\\.0\\.1:\\d+/0 \\(concurrency 1; models mf-[0-9a-f]{16}, generator a1111:${a1111.baseUrl.replace(/[.]/g, '\\.')}\\)`,
        ),
      );
      const sent = a1111.completed;
      const run = await runCliOffline([...argv(), '--queue', redis.url, '--out', 'runs/queued'], tmp);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(a1111.completed - sent >= 4);
      assert.equal((log.match(/pmg worker: done /g) ?? []).length, 4, log);
      const local = join(tmp, 'runs/remote/results.csv');
      assert.equal(readFileSync(join(tmp, 'runs/queued/results.csv'), 'utf8'), readFileSync(local, 'utf8'));
    } finally {
      worker.kill('SIGKILL');
      await redis.stop();
    }
  });
});
