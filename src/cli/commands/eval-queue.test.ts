import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assetPath, packageRoot } from '../../core/package-root.js';
import { evalArgv, writeEvalModels, writePosters } from '../../testing/eval-fixture.js';
import { redisSkip, startRedis, type RedisServer } from '../../testing/redis-server.js';
import { runCliOffline } from '../../testing/run-cli.js';
import { until } from '../../testing/until.js';

const excerpt = assetPath('test-data', 'movielens-excerpt');

interface WorkerProcess {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<number | string>;
}

describe('pmg eval --queue with pmg worker processes (real redis-server on loopback)', { skip: redisSkip }, () => {
  let tmp: string;
  let redis: RedisServer;
  const workers: WorkerProcess[] = [];

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'pmg-eval-queue-'));
    await writeEvalModels(join(tmp, 'fx'));
    await writePosters(excerpt, join(tmp, 'posters'));
    redis = await startRedis();
  });
  after(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  function startWorker(url = redis.url, models = 'fx'): WorkerProcess {
    const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'pmg.js'), 'worker', '--queue', url, '--models', models, '--lock-duration', '1000'], {
      cwd: tmp,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PMG_OFFLINE: '1', PMG_CACHE_DIR: join(tmp, 'cache') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (chunk) => (err += String(chunk)));
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    const worker = { child, stderr: () => err, exited };
    workers.push(worker);
    return worker;
  }

  it('3 workers, one SIGKILLed mid-job and one restarted: results.csv byte-identical to the in-process eval', async () => {
    const argv = [...evalArgv(excerpt, { limit: 3 }), '--methods', 'target-only,keywords,pmg', '--alpha', '0.5,0.8'];
    const local = await runCliOffline([...argv, '--out', 'runs/local'], tmp);
    assert.equal(local.code, 0, local.stderr);

    const [doomed, restarted] = [startWorker(), startWorker(), startWorker()];
    await until(() => workers.every((w) => w.stderr().includes('ready on')), 'every worker is ready');
    const queued = runCliOffline([...argv, '--queue', redis.url, '--out', 'runs/queued'], tmp);
    await until(() => doomed!.stderr().includes('started '), 'the doomed worker took a job');
    doomed!.child.kill('SIGKILL');
    assert.equal(await doomed!.exited, 'SIGKILL');
    // Killed mid-job (as good as always: a fixture generation takes far longer than the 25 ms poll): another worker ran it.
    const killedKey = /started (\S+) \(attempt \d+\)\n$/.exec(doomed!.stderr())?.[1];
    // One worker stops gracefully (SIGTERM: its running job finishes, exit 0) and is started again.
    restarted!.child.kill('SIGTERM');
    assert.equal(await restarted!.exited, 0, restarted!.stderr());
    assert.match(restarted!.stderr(), /SIGTERM: finishing the running job, then stopping\n(pmg worker: done \S+ \(attempt \d+\)\n)?pmg worker: stopped\n$/);
    startWorker();
    const run = await queued;
    if (killedKey)
      assert.ok(
        workers.slice(1).some((w) => w.stderr().includes(`done ${killedKey}`)),
        `the killed job ${killedKey} was delivered again`,
      );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^3 sample\(s\) evaluated \(0 from an earlier start, 9 generation call\(s\) now\); skipped: none$/m);
    const expected = readFileSync(join(tmp, 'runs/local/results.csv'), 'utf8');
    assert.equal(readFileSync(join(tmp, 'runs/queued/results.csv'), 'utf8'), expected);
    assert.equal(expected.trim().split('\n').length, 1 + 3 * 4);
    for (const name of ['keywords.png', 'pmg-c0.png'])
      assert.deepEqual(
        readFileSync(join(tmp, 'runs/queued/images/movielens_user-53', name)),
        readFileSync(join(tmp, 'runs/local/images/movielens_user-53', name)),
      );

    // Resume with the queue: nothing is generated again; a duplicate enqueue changes nothing.
    const again = await runCliOffline([...argv, '--queue', redis.url, '--out', 'runs/queued'], tmp);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /\(3 from an earlier start, 0 generation call\(s\) now\)/);
    assert.equal(readFileSync(join(tmp, 'runs/queued/results.csv'), 'utf8'), expected);
    // (A SIGTERM before a worker process has started its command is node's default: there is nothing to finish.)
    for (const w of workers.slice(2)) await until(() => w.stderr().includes('ready on'), 'the worker is ready');
    for (const w of workers.slice(2)) w.child.kill('SIGTERM');
    for (const w of workers.slice(2)) assert.equal(await w.exited, 0);
  });

  it('Redis restarted mid-run (persistence on): every unit done, each row once, results.csv as in process', async () => {
    const argv = [...evalArgv(excerpt, { limit: 3 }), '--methods', 'target-only,keywords,pmg', '--alpha', '0.5,0.8'];
    const dir = join(tmp, 'aof');
    mkdirSync(dir);
    let durable = await startRedis({ dir });
    const url = durable.url;
    const spawnWorker = (): WorkerProcess => startWorker(url);
    const fleet = [spawnWorker(), spawnWorker()];
    try {
      await until(() => fleet.every((w) => w.stderr().includes('ready on')), 'the workers are ready');
      const queued = runCliOffline([...argv, '--queue', url, '--out', 'runs/restart'], tmp);
      await until(() => fleet.some((w) => w.stderr().includes('pmg worker: done ')), 'a unit finished');
      await durable.stop();
      durable = await startRedis({ dir, port: durable.port });
      const run = await queued;
      assert.equal(run.code, 0, run.stderr);
      const csv = readFileSync(join(tmp, 'runs/restart/results.csv'), 'utf8');
      assert.equal(csv, readFileSync(join(tmp, 'runs/local/results.csv'), 'utf8'));
      const done = new Set(fleet.flatMap((w) => [...w.stderr().matchAll(/done (\S+) /g)].map((m) => m[1])));
      assert.equal(done.size, 9, 'each of the 3 × 3 units completed');
    } finally {
      for (const w of fleet) w.child.kill('SIGKILL');
      await durable.stop();
    }
  });

  it("a worker with other models refuses the run's units at once; they are recorded as failed, never mixed into results.csv", async () => {
    const argv = [...evalArgv(excerpt, { limit: 3 }), '--methods', 'target-only,keywords,pmg', '--alpha', '0.5,0.8'];
    // The same fixture models with one config changed: another model fingerprint.
    cpSync(join(tmp, 'fx'), join(tmp, 'fx-other'), { recursive: true });
    writeFileSync(join(tmp, 'fx-other', 'llm', 'generation_config.json'), '{"other":true}\n');
    const wrong = startWorker(redis.url, 'fx-other');
    const right = startWorker();
    const fleet = [wrong, right];
    try {
      await until(() => fleet.every((w) => w.stderr().includes('ready on')), 'the workers are ready');
      const run = await runCliOffline([...argv, '--queue', redis.url, '--attempts', '3', '--out', 'runs/mixed'], tmp);
      assert.equal(run.code, 0, run.stderr);
      const refused = [...wrong.stderr().matchAll(/failed (\S+) \(attempt (\d+)\): worker \S+ has models (mf-\w+), the run needs (mf-\w+);/g)];
      assert.ok(refused.length >= 1, wrong.stderr());
      // Refused at once: the first attempt is the last (no pointless retries).
      assert.ok(
        refused.every((m) => m[2] === '1' && m[3] !== m[4]),
        wrong.stderr(),
      );
      assert.doesNotMatch(wrong.stderr(), /pmg worker: done /);
      assert.match(run.stdout, new RegExp(`^${refused.length} generation\\(s\\) failed after every attempt`, 'm'));
      const local = readFileSync(join(tmp, 'runs/local/results.csv'), 'utf8').trim().split('\n');
      const mixed = readFileSync(join(tmp, 'runs/mixed/results.csv'), 'utf8').trim().split('\n');
      assert.ok(mixed.length < local.length);
      for (const line of mixed) assert.ok(local.includes(line), `a row of the right models: ${line}`);
      const report = readFileSync(join(tmp, 'runs/mixed/report.md'), 'utf8');
      assert.match(report, new RegExp(`units failed after every queue attempt: ${refused.length} \\(.*has models mf-`));
    } finally {
      for (const w of fleet) w.child.kill('SIGKILL');
    }
  });

  it('refuses what a queued run cannot carry, in one line, before anything runs', async () => {
    const argv = evalArgv(excerpt, { limit: 1 });
    const cases: [string[], string][] = [
      [['--queue', 'http://127.0.0.1:1'], "pmg: --queue: scheme 'http:' is not supported; use redis://host:port[/db] or in-process\n"],
      [['--attempts', '2'], 'pmg: --attempts applies with --queue redis://...; leave it out for an in-process run\n'],
      [
        ['--queue', redis.url, '--captioner', 'onnx:x'],
        'pmg: --queue cannot carry --captioner yet (workers caption nothing); run without --queue, or give history items titles\n',
      ],
    ];
    for (const [extra, message] of cases) {
      const run = await runCliOffline([...argv, ...extra, '--out', 'runs/refused'], tmp);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stderr, message);
    }
    const gone = await startRedis();
    await gone.stop();
    const unreachable = await runCliOffline([...argv, '--queue', gone.url, '--out', 'runs/unreachable'], tmp);
    assert.notEqual(unreachable.code, 0);
    assert.match(
      unreachable.stderr,
      /^pmg: --queue redis:\/\/127\.0\.0\.1:\d+\/0: cannot reach Redis \(connect ECONNREFUSED .*\); start redis-server there or fix the URL\n$/,
    );
  });
});
