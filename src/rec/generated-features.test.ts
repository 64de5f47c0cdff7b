import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SeededRandom } from '../core/random.js';
import { loadMovieLens } from '../data/movielens.js';
import { seedFor } from '../data/protocol.js';
import { PmgError } from '../errors/pmg-error.js';
import type { EvalConfig } from '../experiments/run-config.js';
import { RunStore, type ResultRow } from '../experiments/run-store.js';
import type { ClipImageInput } from '../runtime/clip-inputs.js';
import { writeRecMovieLens } from '../testing/rec-movielens.js';
import { generatedFeatures } from './generated-features.js';
import { DEFAULT_REC_SELECTION, movieLensRecData } from './movielens-rec.js';
import { fitPca, pcaTransform } from './pca.js';
import { randomFeatures } from './random-features.js';
import { recPlan, recPlanSamples, recSampleId, writeRecPlan } from './rec-plan.js';
import { readRecRun } from './rec-run.js';
import type { RecDataset } from './rec-types.js';

const tmp = mkdtempSync(join(tmpdir(), 'pmg-rec-features-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const DIM = 8;

/** A stand-in for CLIP: an image's "embedding" is a seeded vector of its path (so each row's image differs). */
const fakeClip = {
  calls: 0,
  async embedImages(images: readonly ClipImageInput[]): Promise<Float32Array[]> {
    this.calls++;
    return images.map((path) => new SeededRandom(seedFor(1, String(path))).fillGaussian(new Float32Array(DIM), 3));
  },
};

async function setup(name: string, options: { skip?: number; dataset?: string } = {}) {
  const data = await loadMovieLens(writeRecMovieLens(join(tmp, `${name}-ml`)));
  const { dataset, stats } = movieLensRecData(data, { ...DEFAULT_REC_SELECTION, negatives: 3 });
  const planDir = join(tmp, `${name}-plan`);
  const samples = recPlanSamples(data, dataset);
  writeRecPlan(planDir, recPlan(data, dataset, stats, samples.length), samples);
  const config: EvalConfig = {
    dataset: options.dataset ?? 'samples',
    data: planDir,
    protocol: 'file',
    limit: samples.length,
    sampleSeed: 0,
    methods: ['pmg', 'target-only'],
    alphas: [0.5, 0.8],
    metrics: ['clip-t'],
    seed: 0,
    models: { models: '/models/fx' },
  };
  const runDir = join(tmp, `${name}-run`);
  const store = RunStore.open(runDir, config);
  const rows: ResultRow[] = [];
  dataset.rows.slice(options.skip ?? 0).forEach((r, i) => {
    const sampleId = recSampleId(r.user, r.item);
    for (const [method, alpha] of [
      ['pmg', 0.5],
      ['pmg', 0.8],
      ['target-only', null],
    ] as const) {
      const image = `images/${sampleId}/${method}-${alpha}.png`;
      rows.push({
        sampleId,
        method,
        alpha,
        image,
        candidate: 0,
        weights: { preference: 1, target: 1 },
        prompt: 'p',
        dp: 20 + i,
        dt: (alpha ?? 0) + 30,
        z: null,
        metrics: {},
        timings: {},
      });
    }
  });
  store.putResults(rows);
  store.close();
  return { dataset, runDir, planDir };
}

test('generated features: CLIP embedding (L2-normalised) -> PCA fitted on train rows only, then d_p and d_t; width K+2', async () => {
  const { dataset, runDir } = await setup('ok');
  const features = await generatedFeatures(dataset, runDir, 'pmg', fakeClip, { pca: 4 });
  assert.equal(features.width, 6);
  assert.equal(features.alpha, 0.5, "the run's first α");
  assert.equal(features.values.length, dataset.rows.length * 6);
  // Independent recomputation: normalised embeddings, PCA on the train rows.
  const embeddings = new Float32Array(dataset.rows.length * DIM);
  dataset.rows.forEach((r, i) => {
    const [e] = [new SeededRandom(seedFor(1, join(runDir, `images/${recSampleId(r.user, r.item)}/pmg-0.5.png`))).fillGaussian(new Float32Array(DIM), 3)];
    const norm = Math.hypot(...e!);
    for (let k = 0; k < DIM; k++) embeddings[i * DIM + k] = e![k]! / norm;
  });
  const train = dataset.rows.flatMap((r, i) => (r.split === 'train' ? [i] : []));
  assert.ok(train.length < dataset.rows.length);
  const expected = pcaTransform(fitPca(embeddings, DIM, 4, train), embeddings);
  dataset.rows.forEach((_, i) => {
    for (let k = 0; k < 4; k++) assert.ok(Math.abs(features.values[i * 6 + k]! - expected[i * 4 + k]!) < 1e-5, `row ${i} component ${k}`);
    assert.equal(features.values[i * 6 + 4], 20 + i, 'd_p');
    assert.equal(features.values[i * 6 + 5], 30.5, 'd_t');
  });
  // Fitted on train rows: their projections have mean 0; the held-out rows' need not.
  for (let k = 0; k < 4; k++) assert.ok(Math.abs(train.reduce((s, i) => s + features.values[i * 6 + k]!, 0) / train.length) < 1e-6);
  assert.ok(features.explainedVariance > 0 && features.explainedVariance < 1);
  // Another α, and target-only.
  const other = await generatedFeatures(dataset, readRecRun(runDir, dataset), 'pmg', fakeClip, { pca: 4, alpha: 0.8 });
  assert.equal(other.values[5], Math.fround(30.8));
  assert.notDeepEqual(other.values, features.values);
  const target = await generatedFeatures(dataset, runDir, 'target-only', fakeClip, { pca: 2 });
  assert.equal(target.width, 4);
  assert.equal(target.alpha, null);
  await assert.rejects(generatedFeatures(dataset, runDir, 'pmg', fakeClip, { alpha: 0.6 }), /--alpha 0.6 is not among the run's α values \(0.5, 0.8\)/);
  await assert.rejects(generatedFeatures(dataset, runDir, 'pmg', fakeClip, { pca: 9 }), /--pca 9 is more than the CLIP embedding's 8 dimensions/);
});

test('a row without an image is an error (never dropped): how many, the first ids, and the command that makes them', async () => {
  const { dataset, runDir, planDir } = await setup('missing', { skip: 5 });
  const first = dataset.rows.slice(0, 3).map((r) => recSampleId(r.user, r.item));
  await assert.rejects(
    generatedFeatures(dataset, runDir, 'pmg', fakeClip),
    (e: unknown) =>
      e instanceof PmgError &&
      e.code === 'invalid-input' &&
      !e.message.includes('\n') &&
      e.message.includes(`5 of ${dataset.rows.length} rows have no pmg (α 0.5) image in ${runDir} (first: ${first.join(', ')})`) &&
      e.message.includes(
        `pmg eval --dataset samples --data ${planDir} --methods pmg,target-only --alpha 0.5,0.8 --metrics clip-t --limit ${dataset.rows.length} --models /models/fx --seed 0 --out ${runDir}`,
      ),
  );
});

test('a run of another plan, or of another dataset, is refused in one line', async () => {
  const { runDir } = await setup('plan');
  const data = await loadMovieLens(join(tmp, 'plan-ml'));
  const other: RecDataset = movieLensRecData(data, { ...DEFAULT_REC_SELECTION, negatives: 4 }).dataset;
  assert.throws(
    () => readRecRun(runDir, other),
    /^PmgError: features: the run .*plan-run was made from the plan .*plan-plan \(users all, items all, negatives 3, seed 0\), whose rows differ from this selection's \(users all, items all, negatives 4, seed 0\); use the plan's flags/,
  );
  const { dataset, runDir: movielensRun } = await setup('ml-run', { dataset: 'movielens' });
  assert.throws(() => readRecRun(movielensRun, dataset), /is an eval run of the movielens dataset, not of a rec plan/);
  assert.throws(() => readRecRun(join(tmp, 'nothing'), dataset), /has no eval run \(run\.sqlite is missing\)/);
});

test('random control features: a fixed Gaussian vector per (user, item), whatever the other rows', async () => {
  const data = await loadMovieLens(join(tmp, 'ok-ml'));
  const all = movieLensRecData(data, { ...DEFAULT_REC_SELECTION, negatives: 3 }).dataset;
  const some = movieLensRecData(data, { ...DEFAULT_REC_SELECTION, negatives: 3, users: 5 }).dataset;
  const a = randomFeatures(all, 6, 0);
  const b = randomFeatures(some, 6, 0);
  assert.equal(a.width, 6);
  assert.equal(a.name, 'random');
  const index = new Map(all.rows.map((r, i) => [`${r.user}:${r.item}`, i]));
  some.rows.forEach((r, j) => {
    const i = index.get(`${r.user}:${r.item}`);
    if (i !== undefined) assert.deepEqual(b.values.subarray(j * 6, j * 6 + 6), a.values.subarray(i * 6, i * 6 + 6));
  });
  assert.notDeepEqual(randomFeatures(all, 6, 1).values, a.values);
  const mean = a.values.reduce((s, v) => s + v, 0) / a.values.length;
  const sd = Math.sqrt(a.values.reduce((s, v) => s + (v - mean) ** 2, 0) / a.values.length);
  assert.ok(Math.abs(mean) < 0.15 && Math.abs(sd - 1) < 0.15, `${mean} ${sd}`);
});
