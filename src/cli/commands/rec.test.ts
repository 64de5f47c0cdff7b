import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RecReport } from '../../rec/rec-experiment.js';
import type { RecPlan } from '../../rec/rec-plan.js';
import { writeEvalModels } from '../../testing/eval-fixture.js';
import { writeRecMovieLens } from '../../testing/rec-movielens.js';
import { runCliOffline } from '../../testing/run-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'pmg-rec-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const selection = ['--dataset', 'movielens', '--data', 'ml', '--negatives', '2'];
const model = ['--epochs', '6', '--factors', '4', '--bootstrap', '200', '--pca', '4'];
let rows = 0;

before(async () => {
  writeRecMovieLens(join(tmp, 'ml'), { users: 8, movies: 14, perUser: 7 });
  await writeEvalModels(join(tmp, 'fx'));
  const plan = await runCliOffline(['rec', 'plan', ...selection, '--out', 'plan'], tmp);
  assert.equal(plan.code, 0, plan.stderr);
  rows = (JSON.parse(readFileSync(join(tmp, 'plan', 'plan.json'), 'utf8')) as RecPlan).samples;
});

const evalArgv = (limit: number) =>
  ['eval', '--dataset', 'samples', '--data', 'plan', '--methods', 'pmg,target-only', '--metrics', 'clip-t', '--limit', String(limit)].concat([
    '--models',
    'fx',
    '--metrics-models',
    'fx',
    '--steps',
    '2',
    '--size',
    '32',
    '--no-cache',
    '--out',
    'run',
  ]);

test('rec plan -> eval --dataset samples -> rec: four feature rows, and the random control is not beaten by random-weight images', async () => {
  assert.ok(rows > 20 && rows < 90, `${rows} rows`);
  // A run that made only some rows' images: pmg rec refuses it (never drops rows), names the command, writes nothing.
  const partial = await runCliOffline(evalArgv(10), tmp);
  assert.equal(partial.code, 0, partial.stderr);
  const refused = await runCliOffline(['rec', ...selection, '--features', 'run', ...model, '--out', 'report'], tmp);
  assert.notEqual(refused.code, 0);
  const line = refused.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('rec: '));
  assert.equal(line.length, 1, refused.stderr);
  assert.match(line[0]!, new RegExp(`features: ${rows - 10} of ${rows} rows have no pmg \\(α 0.5\\) image in .*run \\(first: rec-u\\d+-i\\d+, `));
  assert.match(
    line[0]!,
    new RegExp(`make them with 'pmg eval --dataset samples --data .*plan --methods pmg,target-only --alpha 0.5,0.67,0.8 --metrics clip-t --limit ${rows} `),
  );
  assert.ok(!existsSync(join(tmp, 'report')));

  // The same run, resumed with a --limit covering every row, then the experiment.
  const full = await runCliOffline(evalArgv(rows), tmp);
  assert.equal(full.code, 0, full.stderr);
  const run = await runCliOffline(['rec', ...selection, '--features', 'run', ...model, '--out', 'report'], tmp);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(readFileSync(join(tmp, 'report', 'report.json'), 'utf8')) as RecReport;
  assert.deepEqual(
    report.sets.map((s) => s.name),
    ['none', 'pmg', 'target-only', 'random'],
  );
  assert.deepEqual(
    report.sets.map((s) => s.denseWidth),
    [0, 6, 6, 6],
  );
  assert.equal(report.control, 'random');
  const pmg = report.sets.find((s) => s.name === 'pmg')!;
  assert.ok(pmg.vsNone && pmg.vsRandom, 'intervals against none and the control');
  // The control works: images from random-weight models carry no signal, so pmg's AUC gain over random is not significant.
  assert.ok(pmg.vsRandom.auc.low !== null && pmg.vsRandom.auc.low <= 0, JSON.stringify(pmg.vsRandom.auc));
  assert.notEqual(pmg.vsRandom.auc.significance, 'better');
  assert.ok(!report.conclusion.beatsControl.includes('pmg'));
  assert.match(pmg.description, /PMG-generated images \(α 0.5\) of each \(user, item\) row: CLIP image embedding → PCA 4 fitted on train rows/);
  for (const name of ['report.md', 'report.html']) assert.ok(existsSync(join(tmp, 'report', name)));
  assert.match(run.stdout, /^set +AUC/m);
  assert.match(run.stdout, /^random +\d\.\d{4}/m);
  assert.match(run.stdout, /report: .*report\.html/);

  // A selection other than the plan's is refused in one line.
  const other = await runCliOffline(['rec', '--dataset', 'movielens', '--data', 'ml', '--negatives', '3', '--features', 'run', '--out', 'other'], tmp);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /features: the run .*run was made from the plan .*plan \(users all, items all, negatives 2, seed 0\), whose rows differ/);
  assert.ok(!existsSync(join(tmp, 'other')));
});

test('pmg rec: bad flags are one line, non-zero, nothing written', async () => {
  const cases: [string[], RegExp][] = [
    [[...selection, '--out', 'bad'], /missing --features RUN_DIR\|none/],
    [[...selection, '--features', 'none', '--pca', '4', '--out', 'bad'], /--pca applies to generated features; leave it out with --features none/],
    [[...selection, '--features', 'nowhere', '--out', 'bad'], /nowhere has no eval run \(run\.sqlite is missing\)/],
    [[...selection, '--features', 'none', '--k', '0', '--out', 'bad'], /--k must be an integer from 1 to 10000, got '0'/],
    [['--dataset', 'movielens', '--data', 'ml', '--features', 'none'], /missing --out DIR/],
  ];
  for (const [argv, message] of cases) {
    const run = await runCliOffline(['rec', ...argv], tmp);
    assert.notEqual(run.code, 0, argv.join(' '));
    const errors = run.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('rec: '));
    assert.equal(errors.length, 1, run.stderr);
    assert.match(errors[0]!, message);
    assert.ok(!existsSync(join(tmp, 'bad')));
  }
});
