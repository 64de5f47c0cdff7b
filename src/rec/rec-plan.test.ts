import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadMovieLens } from '../data/movielens.js';
import { readSampleFile } from '../data/sample-file.js';
import { runCliOffline } from '../testing/run-cli.js';
import { writeRecMovieLens } from '../testing/rec-movielens.js';
import { DEFAULT_REC_SELECTION, movieLensRecData } from './movielens-rec.js';
import { PLAN_HISTORY, recPlanSamples, recRowsHash, recSampleId, type RecPlan } from './rec-plan.js';

const tmp = mkdtempSync(join(tmpdir(), 'pmg-rec-plan-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const dir = writeRecMovieLens(join(tmp, 'ml'));

test('plan samples: one per row, ids unique, every rank and negative row included, history causal and never empty', async () => {
  const data = await loadMovieLens(dir);
  const { dataset } = movieLensRecData(data, { ...DEFAULT_REC_SELECTION, negatives: 4 });
  const samples = recPlanSamples(data, dataset);
  assert.equal(samples.length, dataset.rows.length);
  assert.equal(new Set(samples.map((s) => s.id)).size, samples.length);
  const byId = new Map(samples.map((s) => [s.id, s]));
  const time = new Map(dataset.rows.map((r) => [`${r.user}:${r.item}`, r]));
  let fallbacks = 0;
  for (const row of dataset.rows) {
    const sample = byId.get(recSampleId(row.user, row.item))!;
    assert.ok(sample, `${row.user}:${row.item} has a sample (label ${row.label}, ${row.split})`);
    assert.equal(sample.target.item!.id, row.item);
    assert.equal(sample.user, row.user);
    assert.equal(sample.split, row.split === 'rank' ? 'test' : row.split);
    const history = sample.history.items.map((i) => time.get(`${row.user}:${i.id}`)!);
    assert.ok(history.length >= 1 && history.length <= PLAN_HISTORY);
    for (const h of history) {
      assert.equal(h.label, 1, 'history items are positives');
      assert.notEqual(h.item, row.item);
    }
    const causal = row.split !== 'rank' && history.every((h) => h.time < row.time);
    if (!causal) {
      // The fallback: train positives only (never a val/test label), and only when nothing came before.
      fallbacks++;
      assert.ok(history.every((h) => h.split === 'train'));
      assert.ok(row.split === 'rank' || !dataset.rows.some((r) => r.user === row.user && r.label === 1 && r.split !== 'rank' && r.time < row.time));
    } else {
      // The last 5 positives before the row, in time order.
      const before = dataset.rows
        .filter((r) => r.user === row.user && r.label === 1 && r.split !== 'rank' && r.time < row.time)
        .sort((a, b) => a.time - b.time);
      assert.deepEqual(
        history.map((h) => h.item),
        before.slice(-PLAN_HISTORY).map((r) => r.item),
      );
    }
  }
  assert.ok(fallbacks > 0 && fallbacks < samples.length);
});

test('pmg rec plan writes plan.json and samples.jsonl that the samples dataset reads back; prints the next commands', async () => {
  const run = await runCliOffline(['rec', 'plan', '--dataset', 'movielens', '--data', 'ml', '--users', '8', '--negatives', '3', '--out', 'plan'], tmp);
  assert.equal(run.code, 0, run.stderr);
  const plan = JSON.parse(readFileSync(join(tmp, 'plan', 'plan.json'), 'utf8')) as RecPlan;
  const data = await loadMovieLens(dir);
  const { dataset } = movieLensRecData(data, { ...DEFAULT_REC_SELECTION, users: 8, negatives: 3 });
  assert.equal(plan.rowsHash, recRowsHash(dataset.rows));
  assert.equal(plan.samples, dataset.rows.length);
  assert.deepEqual(plan.selection, dataset.selection);
  const read = readSampleFile(join(tmp, 'plan'));
  assert.deepEqual(read.samples, recPlanSamples(data, dataset));
  assert.match(run.stdout, new RegExp(`^plan: ${dataset.rows.length} rows \\(train \\d+, val \\d+, test \\d+, rank \\d+\\) of \\d+ users`));
  assert.match(run.stdout, new RegExp(`pmg eval --dataset samples --data plan --methods pmg,target-only --metrics clip-t --limit ${dataset.rows.length} `));
  assert.match(run.stdout, /pmg rec --dataset movielens --data ml --users 8 --negatives 3 --features RUN --out REPORT_DIR/);
  // Only ids differ between rows: the hash changes with the selection.
  const other = movieLensRecData(data, { ...DEFAULT_REC_SELECTION, users: 8, negatives: 4 }).dataset;
  assert.notEqual(recRowsHash(other.rows), plan.rowsHash);
});

test('pmg rec plan: bad input is one line, non-zero, and writes nothing', async () => {
  const cases: [string[], RegExp][] = [
    [['--dataset', 'pog', '--data', 'ml'], /--dataset: 'pog' is not supported by pmg rec yet; use movielens/],
    [['--dataset', 'movielens', '--data', 'missing'], /data: MovieLens folder not found: .*missing/],
    [['--dataset', 'movielens', '--data', 'ml', '--users', '0'], /--users must be a positive integer, got '0'/],
  ];
  for (const [argv, message] of cases) {
    const run = await runCliOffline(['rec', 'plan', ...argv, '--out', 'bad-plan'], tmp);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, message);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.ok(!existsSync(join(tmp, 'bad-plan')));
  }
  writeFileSync(join(tmp, 'a-file'), 'x');
  const run = await runCliOffline(['rec', 'plan', '--dataset', 'movielens', '--data', 'ml', '--out', 'a-file'], tmp);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /--out .*a-file is a file; give a folder/);
});
