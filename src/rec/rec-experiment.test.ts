import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { REC_METRICS } from './rec-evaluation.js';
import {
  DEFAULT_REC_OPTIONS,
  recConclusion,
  runRecExperiment,
  type RecDeltas,
  type RecExperimentOptions,
  type RecReport,
  type RecSetResult,
  type Significance,
} from './rec-experiment.js';
import type { FeatureSet } from './rec-types.js';
import { randomDense, syntheticRecDataset } from './synthetic-rec-dataset.js';

const { dataset, signal } = syntheticRecDataset({ users: 120, items: 80, ratingsPerUser: 30, negatives: 20, seed: 4 });
const rows = dataset.rows.length;
const options: RecExperimentOptions = { ...DEFAULT_REC_OPTIONS, factors: 8, epochs: 15, bootstrap: 200, seed: 1 };

/** The report without its timings (the only part that may differ between equal runs). */
function withoutTimings(report: RecReport): unknown {
  return {
    ...report,
    sets: report.sets.map((s) => ({
      ...s,
      training: {
        ...s.training,
        msPerEpoch: 0,
        epochs: s.training.epochs.map((e) => ({ ...e, ms: 0 })),
        replicates: s.training.replicates.map((r) => ({ ...r, msPerEpoch: 0 })),
      },
    })),
  };
}

test('a feature that carries label information beats none and the random control; the report says so', async () => {
  const sets: FeatureSet[] = [
    { name: 'none', description: 'ids + genres' },
    { name: 'pmg', description: 'a helpful block', dense: signal(6) },
    { name: 'random', description: 'random vectors', dense: randomDense(rows, 6, 11) },
  ];
  const lines: string[] = [];
  const report = await runRecExperiment(dataset, sets, { ...options, onProgress: (l) => lines.push(l) });
  assert.deepEqual(
    report.sets.map((s) => [s.name, s.denseWidth]),
    [
      ['none', 0],
      ['pmg', 6],
      ['random', 6],
    ],
  );
  const [none, pmg, random] = report.sets;
  assert.equal(none!.vsNone, null);
  assert.equal(random!.vsRandom, null);
  assert.equal(pmg!.vsNone!.auc.significance, 'better');
  assert.equal(pmg!.vsRandom!.auc.significance, 'better');
  assert.ok(pmg!.metrics.auc! > none!.metrics.auc!);
  assert.deepEqual(report.conclusion.beatsControl, ['pmg']);
  assert.deepEqual(report.conclusion.helps, ['pmg']);
  assert.match(report.conclusion.sentence, /^'pmg' beats both 'none' and the 'random' control on AUC/);
  assert.equal(report.control, 'random');
  assert.equal(report.stats.rows.rank, 120 * 20);
  assert.equal(report.stats.evaluatedUsers, 120);
  assert.ok(report.sets.every((s) => s.training.bestEpoch >= 1 && s.training.epochsRun <= 15 && s.training.msPerEpoch > 0));
  // Three training runs per set (the default), seeds 1, 2, 3; the set's AUC is their mean.
  assert.deepEqual(
    pmg!.training.replicates.map((r) => r.seed),
    [1, 2, 3],
  );
  assert.ok(Math.abs(pmg!.metrics.auc! - pmg!.training.replicates.reduce((a, r) => a + r.auc!, 0) / 3) < 1e-12);
  assert.ok(
    lines.some((l) => /^rec: pmg run 2\/3: epoch 1\/15 train loss \d\.\d{4} val loss \d\.\d{4} \(\d+ ms\)$/.test(l)),
    lines.join('\n'),
  );
  // Plain JSON: survives a round trip unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
});

test('with random-weight "generated" features there is no significant gain over the random control (the control works), and a run is deterministic', async () => {
  const sets: FeatureSet[] = [
    { name: 'none', description: 'ids + genres' },
    { name: 'pmg', description: 'features of random-weight images', dense: randomDense(rows, 6, 21, 'pmg') },
    { name: 'random', description: 'random vectors', dense: randomDense(rows, 6, 22) },
  ];
  const report = await runRecExperiment(dataset, sets, options);
  const pmg = report.sets[1]!;
  assert.notEqual(pmg.vsRandom!.auc.significance, 'better', JSON.stringify(pmg.vsRandom!.auc));
  assert.ok(pmg.vsRandom!.auc.low! < 0 && pmg.vsRandom!.auc.high! > 0, JSON.stringify(pmg.vsRandom!.auc));
  assert.deepEqual(report.conclusion.beatsControl, []);
  assert.deepEqual(report.conclusion.helps, []);
  assert.match(report.conclusion.sentence, /^No feature set beats the 'random' control on AUC/);
  const again = await runRecExperiment(dataset, sets, options);
  assert.deepEqual(withoutTimings(again), withoutTimings(report));
});

test('without a random control the report says a gain cannot be told apart from extra width', async () => {
  const report = await runRecExperiment(dataset, [{ name: 'none', description: 'ids + genres' }], { ...options, epochs: 2, bootstrap: 20 });
  assert.equal(report.control, null);
  assert.equal(report.sets[0]!.vsRandom, null);
  assert.match(report.conclusion.sentence, /no 'random' control/);
});

test('the feature sets must include none and have distinct names', async () => {
  await assert.rejects(
    runRecExperiment(dataset, [{ name: 'pmg', description: '' }], options),
    (e: unknown) => e instanceof PmgError && e.code === 'invalid-argument' && /must include 'none'/.test(e.message),
  );
  await assert.rejects(
    runRecExperiment(
      dataset,
      [
        { name: 'none', description: '' },
        { name: 'none', description: '' },
      ],
      options,
    ),
    /'none' is listed twice/,
  );
  await assert.rejects(runRecExperiment(dataset, [{ name: 'none', description: '' }], { ...options, k: 0 }), /k must be a positive integer/);
  await assert.rejects(
    runRecExperiment(dataset, [{ name: 'none', description: '' }], { ...options, replicates: 0 }),
    /replicates must be a positive integer, got 0/,
  );
});

test('a set that beats the control but not none is not called helpful; one that beats both is', () => {
  const delta = (significance: Significance): RecDeltas =>
    Object.fromEntries(REC_METRICS.map((m) => [m, { observed: 0, low: 0, high: 0, resamples: 1, significance }])) as RecDeltas;
  const set = (name: string, vsNone: Significance | null, vsRandom: Significance | null) =>
    ({ name, vsNone: vsNone && delta(vsNone), vsRandom: vsRandom && delta(vsRandom) }) as RecSetResult;
  const none = set('none', null, 'better');
  const random = set('random', 'worse', null);
  const partial = recConclusion([none, set('pmg', 'none', 'better'), set('target-only', 'none', 'none'), random], 'random');
  assert.deepEqual([partial.helps, partial.beatsControl, partial.beatsBaseline], [[], ['pmg'], []]);
  assert.match(partial.sentence, /^'pmg' beats the 'random' control on AUC but not 'none': .*no gain over ids \+ genres\.$/);
  const both = recConclusion([none, set('pmg', 'better', 'better'), set('target-only', 'none', 'better'), random], 'random');
  assert.deepEqual([both.helps, both.beatsControl, both.beatsBaseline], [['pmg'], ['pmg', 'target-only'], ['pmg']]);
  assert.match(both.sentence, /^'pmg' beats both 'none' and the 'random' control on AUC .*; 'target-only' beats the 'random' control on AUC but not 'none'/);
});
