import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EvalConfig } from './run-config.js';
import { RunStore, type ResultRow } from './run-store.js';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'pmg-run-store-'));
});
after(() => rm(work, { recursive: true, force: true }));

const config: EvalConfig = {
  dataset: 'movielens',
  data: '/d',
  limit: 5,
  sampleSeed: 0,
  methods: ['target-only', 'pmg'],
  alphas: [0.5, 0.8],
  metrics: ['ssim'],
  seed: 0,
  models: {},
};
const row = (sampleId: string, method: 'pmg' | 'target-only', alpha: number | null): ResultRow => ({
  sampleId,
  method,
  alpha,
  image: `images/${sampleId}.png`,
  candidate: 0,
  weights: { preference: 1, target: 1 },
  prompt: 'p',
  dp: 20,
  dt: 21,
  z: alpha === null ? null : 3,
  metrics: { accuracy_ssim: 0.5 },
  timings: {},
});

describe('run store', () => {
  it('keeps the config, refuses another one naming the fields, allows a larger limit', () => {
    const out = join(work, 'a');
    RunStore.open(out, config).close();
    assert.throws(
      () => RunStore.open(out, { ...config, methods: ['pmg'], seed: 3 }),
      /other settings: methods \(was target-only,pmg, now pmg\); seed \(was 0, now 3\)/,
    );
    assert.throws(() => RunStore.open(out, { ...config, limit: 3 }), /limit \(was 5, now 3\)/);
    const bigger = RunStore.open(out, { ...config, limit: 9 });
    bigger.close();
    assert.equal(RunStore.openExisting(out).config.limit, 9);
  });

  it('stores rows in one transaction and orders them by sample, method, alpha', () => {
    const out = join(work, 'b');
    const store = RunStore.open(out, config);
    store.putSample({ id: 's2', user: '2', scene: 'movie', position: 1, historyImages: [], targetText: '' });
    store.putSample({ id: 's1', user: '1', scene: 'movie', position: 0, historyImages: [], targetText: '' });
    store.putResults([row('s2', 'pmg', 0.8), row('s2', 'pmg', 0.5)]);
    store.putResults([row('s1', 'pmg', 0.5), row('s1', 'target-only', null)]);
    assert.throws(() => store.putResults([row('s3', 'pmg', 0.5), { ...row('s3', 'pmg', 0.8), sampleId: undefined as unknown as string }]));
    assert.deepEqual(
      store.results().map((r) => `${r.sampleId}/${r.method}/${r.alpha}`),
      ['s1/target-only/null', 's1/pmg/0.5', 's2/pmg/0.5', 's2/pmg/0.8'],
    );
    assert.equal(store.finished().size, 4, 'the failed transaction left nothing');
    store.putKeywords('s1', { preference: ['a'], target: ['b'], prompts: {}, raw: {}, model: 'm', cached: false });
    assert.deepEqual(store.keywords('s1')?.preference, ['a']);
    store.close();
  });

  it('says clearly when a folder has no run', () => {
    assert.throws(() => RunStore.openExisting(join(work, 'none')), /has no eval run \(run\.sqlite is missing\)/);
  });
});
