import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { assetPath } from '../core/package-root.js';
import { loadMovieLens, movieLensSamples } from '../data/movielens.js';
import { PmgError } from '../errors/pmg-error.js';
import { loadModelSet, type ModelSet } from '../providers/model-set.js';
import { personalize, type PersonalizeRequest, type PersonalizeResult } from '../personalize/personalize.js';
import { InProcessQueue } from '../queue/in-process-queue.js';
import { ModelStore } from '../runtime/model-store.js';
import type { Sample } from '../spec/behaviour.js';
import { deadPid } from '../testing/dead-pid.js';
import { evalArgv, writeEvalModels, writePosters } from '../testing/eval-fixture.js';
import { EvalScorer } from './eval-metrics.js';
import { writeHumanSheets, parsePairs } from './human-sheet.js';
import { writeReport } from './report.js';
import type { EvalConfig } from './run-config.js';
import { RunStore } from './run-store.js';
import { runEval, type EvalRunOptions } from './runner.js';

const excerpt = assetPath('test-data', 'movielens-excerpt');
let work: string;
let models: ModelSet;
let scorer: EvalScorer;
let samples: Sample[];

const config = (): EvalConfig => ({
  dataset: 'movielens',
  data: excerpt,
  posters: join(work, 'posters'),
  protocol: 'official',
  limit: 4,
  sampleSeed: 0,
  methods: ['target-only', 'keywords', 'pmg'],
  alphas: [0.5, 0.67, 0.8],
  metrics: ['lpips', 'ssim', 'clip-i', 'clip-t'],
  seed: 0,
  steps: 2,
  size: 32,
  models: { models: join(work, 'models'), metricsModels: join(work, 'models') },
});

/** Run (or resume) into `out`; returns the personalize requests made and the error, if any. */
async function run(out: string, extra: Partial<EvalRunOptions> = {}): Promise<{ calls: PersonalizeRequest[]; error?: unknown }> {
  const calls: PersonalizeRequest[] = [];
  const store = RunStore.open(out, config());
  try {
    await runEval({
      store,
      outDir: out,
      samples,
      models,
      scorer,
      personalize: (m, request) => {
        calls.push(request);
        return personalize(m, request);
      },
      ...extra,
    });
    await writeReport(store, out);
    return { calls };
  } catch (error) {
    return { calls, error };
  } finally {
    store.close();
  }
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'pmg-eval-test-'));
  await writeEvalModels(join(work, 'models'));
  await writePosters(excerpt, join(work, 'posters'));
  const store = new ModelStore({ cacheDir: join(work, 'cache'), endpoint: 'http://127.0.0.1:9', offline: true });
  models = await loadModelSet({ models: join(work, 'models') }, { store, env: {}, offline: true });
  scorer = await EvalScorer.load(['lpips', 'ssim', 'clip-i', 'clip-t'], { lpips: join(work, 'models', 'lpips'), clip: join(work, 'models', 'clip') });
  const data = await loadMovieLens(excerpt, { posters: join(work, 'posters') });
  samples = movieLensSamples(data, { protocol: 'official', limit: 4 }).samples;
});

after(async () => {
  await models?.close();
  await rm(work, { recursive: true, force: true });
});

describe('eval runner', () => {
  it('runs every method on the same samples, asking the LLM once per sample', async () => {
    const out = join(work, 'full');
    const { calls, error } = await run(out);
    assert.equal(error, undefined);
    assert.equal(samples.length, 4);
    assert.equal(calls.length, 4 * 3, 'one personalize call per sample and method (pmg once for all α)');
    assert.equal(calls.filter((c) => c.keywords === undefined).length, 4, 'keywords asked once per sample');
    assert.ok(
      calls.every((c) => c.seed === 0),
      'same seed for every method',
    );
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 1 + 4 * (1 + 1 + 3));
    assert.match(csv[0]!, /^sample,user,method,alpha,.*personalization_lpips.*accuracy_clip_t$/);
    // pmg at each α picks the candidate with the largest z from the same candidates.
    const pmg = csv.filter((l) => l.includes(',pmg,'));
    assert.equal(pmg.length, 12);
    for (const line of csv.slice(1))
      assert.ok(
        line.split(',').every((f, i) => i === 3 || i === 9 || f !== ''),
        `no empty metric in ${line}`,
      );
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const label of ['target-only', 'keywords', 'pmg α=0.5', 'pmg α=0.67', 'pmg α=0.8']) {
      assert.ok(md.includes(`| ${label} |`), `report.md lists ${label}`);
      assert.ok(html.includes(label), `report.html lists ${label}`);
    }
    assert.match(md, /Relative change against target-only/);
    assert.match(md, /^- images are read as 8-bit RGB; transparent pixels are composited over white before every metric$/m);
    assert.ok(html.includes('transparent pixels are composited over white before every metric'));
    assert.match(html, /<svg[^>]*>[\s\S]*α trade-off, LPIPS[\s\S]*<\/svg>/);
    assert.ok(existsSync(join(out, 'chart-lpips.svg')));
    assert.ok(html.includes('src="images/movielens_user-53/target-only.png"'));
  });

  it('resumes a run killed after a few transactions and ends with the same results.csv, redoing nothing', async () => {
    const out = join(work, 'killed');
    let stored = 0;
    const first = await run(out, {
      onStored: () => {
        if (++stored === 4) throw new Error('simulated crash');
      },
    });
    assert.match(String((first.error as Error)?.message), /simulated crash/);
    assert.equal(first.calls.length, 4);
    // What a kill between writing and renaming leaves behind; the resumed run removes it.
    const dead = deadPid();
    const orphans = [join(out, `report.html.tmp-${dead}-0a1b2c3d`), join(out, 'images', 'movielens_user-53', `pmg-c0.png.tmp-${dead}-deadbeef`)];
    for (const orphan of orphans) writeFileSync(orphan, 'half-written');
    const second = await run(out);
    for (const orphan of orphans) assert.equal(existsSync(orphan), false, `${orphan} removed on resume`);
    assert.equal(second.error, undefined);
    assert.equal(second.calls.length, 12 - 4, 'only the unfinished (sample, method) pairs are generated again');
    assert.equal([...first.calls, ...second.calls].filter((c) => c.keywords === undefined).length, 4, 'stored keywords are reused after the restart');
    const third = await run(out);
    assert.equal(third.calls.length, 0, 'a finished run does no work');
    assert.equal(readFileSync(join(out, 'results.csv'), 'utf8'), readFileSync(join(work, 'full', 'results.csv'), 'utf8'));
  });

  it('stops on an AbortSignal with a clear error and keeps what finished', async () => {
    const out = join(work, 'aborted');
    const controller = new AbortController();
    let stored = 0;
    const { error } = await run(out, { signal: controller.signal, onStored: () => void (++stored === 2 && controller.abort()) });
    assert.ok(error instanceof PmgError && error.code === 'aborted', String(error));
    const store = RunStore.open(out, config());
    assert.equal(store.results().length, 2, 'target-only and keywords of the first sample');
    store.close();
    assert.equal((await run(out)).calls.length, 10);
    assert.equal(readFileSync(join(out, 'results.csv'), 'utf8'), readFileSync(join(work, 'full', 'results.csv'), 'utf8'));
  });

  it('survives a real SIGKILL of the pmg eval process', async () => {
    const out = join(work, 'sigkill');
    const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
    const args = [...evalArgv(excerpt, { posters: join(work, 'posters'), models: join(work, 'models'), limit: 4 }), '--out', out];
    const child = spawn(
      process.execPath,
      ['-e', `import(${JSON.stringify(main)}).then(m=>m.main(process.argv.slice(1))).then(c=>process.exit(c))`, '--', ...args],
      {
        env: { ...process.env, PMG_OFFLINE: '1', PMG_CACHE_DIR: join(work, 'cache') },
        stdio: 'ignore',
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let rows = 0;
    for (let i = 0; i < 1500 && rows < 2; i++) {
      await new Promise((r) => setTimeout(r, 10));
      if (!existsSync(join(out, 'run.sqlite'))) continue;
      try {
        const db = new Database(join(out, 'run.sqlite'), { readonly: true, fileMustExist: true });
        rows = (db.prepare('SELECT count(*) AS n FROM results').get() as { n: number }).n;
        db.close();
      } catch {
        // the table may not exist yet
      }
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', 'the child was still running when killed');
    assert.ok(rows >= 2 && rows < 20, `killed mid-run (${rows} rows)`);
    const resumed = await run(out);
    assert.equal(resumed.error, undefined);
    assert.ok(resumed.calls.length < 12, `resume redid only the missing work (${resumed.calls.length} calls)`);
    assert.equal(readFileSync(join(out, 'results.csv'), 'utf8'), readFileSync(join(work, 'full', 'results.csv'), 'utf8'));
    assert.deepEqual(
      readdirSync(join(out, 'images', 'movielens_user-53')).filter((f) => f.includes('.tmp-')),
      [],
      'no temporary files left visible as results',
    );
  });

  it('through a queue: samples in parallel, a unit failing every attempt is recorded with its reason, the run goes on, a resume retries it', async () => {
    const out = join(work, 'queued');
    let failing = true;
    const tries = new Map<string, number>();
    const queue = new InProcessQueue<{ sampleId: string; method: string; request: PersonalizeRequest }, PersonalizeResult>(
      async ({ sampleId, method, request }) => {
        const key = `${sampleId} ${method}`;
        tries.set(key, (tries.get(key) ?? 0) + 1);
        if (failing && sampleId === samples[1]!.id && method === 'keywords') throw new PmgError('internal', 'worker out of memory\nstack');
        return personalize(models, request);
      },
      { attempts: 2, backoffMs: 1 },
    );
    const generate: EvalRunOptions['generate'] = (sampleId, method, request) =>
      queue.run(`${sampleId} ${method} ${request.alpha}`, { sampleId, method, request });
    const first = await run(out, { generate, parallel: 3 });
    assert.equal(first.error, undefined);
    assert.equal(tries.get(`${samples[1]!.id} keywords`), 2, 'tried attempts times');
    const store = RunStore.openExisting(out);
    assert.deepEqual(store.failures(), [{ sampleId: samples[1]!.id, method: 'keywords', reason: 'worker out of memory', attempts: 2 }]);
    assert.equal(store.results().length, 4 * 5 - 1, 'every other row finished');
    store.close();
    assert.match(
      readFileSync(join(out, 'report.md'), 'utf8'),
      /units failed after every queue attempt: 1 \(movielens:user-\d+ keywords: worker out of memory\)/,
    );
    failing = false;
    const second = await run(out, { generate });
    assert.equal(second.error, undefined);
    const after = RunStore.openExisting(out);
    assert.deepEqual(after.failures(), []);
    after.close();
    assert.doesNotMatch(readFileSync(join(out, 'report.md'), 'utf8'), /units failed/);
    assert.equal(
      readFileSync(join(out, 'results.csv'), 'utf8'),
      readFileSync(join(work, 'full', 'results.csv'), 'utf8'),
      'the same results as the in-process run',
    );
  });

  it('writes blind A/B sheets with a key', async () => {
    const out = join(work, 'full');
    const store = RunStore.openExisting(out);
    try {
      const pairs = parsePairs('pmg:target-only', store.config.methods, store.config.alphas);
      assert.deepEqual(pairs[0], [
        { method: 'pmg', alpha: 0.67 },
        { method: 'target-only', alpha: null },
      ]);
      const [sheet] = await writeHumanSheets(store, out, pairs, 7);
      assert.equal(sheet!.questions, 4);
      const key = readFileSync(sheet!.key, 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(','));
      assert.equal(key.length, 4);
      for (const row of key) assert.deepEqual([row[2], row[3]].sort(), ['pmg@0.67', 'target-only']);
      const html = readFileSync(sheet!.html, 'utf8');
      assert.ok(!/pmg|target-only|keywords/.test(html.replace(/PMG A\/B/, '')), 'the page does not name the methods');
      const again = await writeHumanSheets(store, out, pairs, 7);
      assert.equal(readFileSync(again[0]!.key, 'utf8'), readFileSync(sheet!.key, 'utf8'), 'same seed, same sides');
      assert.throws(() => parsePairs('pmg:dreambooth', store.config.methods, store.config.alphas), /unknown method 'dreambooth'/);
    } finally {
      store.close();
    }
  });
});
