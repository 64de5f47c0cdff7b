import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, f32Tensor, readSafetensors } from '../core/safetensors.js';
import { PmgError } from '../errors/pmg-error.js';
import { SOFT_CONFIG_FILE, SOFT_WEIGHTS_FILE, softConfigJson } from './soft-config.js';
import { initSoftModule, type SoftInitOptions } from './soft-init.js';
import { readSoftModule, writeSoftModule } from './soft-module.js';

const root = mkdtempSync(join(tmpdir(), 'pmg-soft-module-'));
after(() => rmSync(root, { recursive: true, force: true }));

const body = { id: 'some/llm', config: { hidden: 64, layers: 3, heads: 4, kvHeads: 2, headDim: 16, vocabSize: 100 }, fingerprint: 'a'.repeat(64) };
const options: SoftInitOptions = { body, condWidth: 768, generatorId: 'some/sd', scene: 'movie', templateVersion: '1', seed: 7 };

function initAndWrite(dir: string, init: SoftInitOptions): ReturnType<typeof writeSoftModule> {
  const { config, tensors } = initSoftModule(init);
  return writeSoftModule(dir, config, tensors);
}

function stats(values: Float32Array): { mean: number; std: number; min: number; max: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { mean, std, min: Math.min(...values), max: Math.max(...values) };
}

test('init: N(0, 1) prefix and tokens, PyTorch default Linear init for the map, sizes and provenance in the config', () => {
  const { config, tensors } = initSoftModule({ ...options, P: 8, N: 6 });
  assert.deepEqual([config.P, config.N, config.hidden, config.layers, config.kvHeads, config.headDim, config.condWidth], [8, 6, 64, 3, 2, 16, 768]);
  assert.deepEqual([config.reparameterisation, config.trainedWith, config.seed, config.generator.family], ['none', 'init', 7, 'sd1']);
  assert.deepEqual(config.llm, { id: 'some/llm', fingerprint: 'a'.repeat(64) });
  assert.deepEqual(config.template, { name: 'movie-soft', version: '1' });
  assert.equal(tensors.prefix!.length, 8 * 3 * 2 * 2 * 16);
  for (const values of [tensors.prefix!, tensors.tokens]) {
    const s = stats(values);
    assert.ok(Math.abs(s.mean) < 0.1 && Math.abs(s.std - 1) < 0.1, `N(0,1): ${JSON.stringify(s)}`);
  }
  const bound = 1 / Math.sqrt(64);
  for (const values of [tensors.mapWeight, tensors.mapBias]) {
    const s = stats(values);
    assert.ok(s.min >= -bound && s.max <= bound, 'inside ±1/√fan_in');
    assert.ok(s.max > 0.9 * bound && s.min < -0.9 * bound, 'spread over the whole interval');
  }
  const sd2 = initSoftModule({ ...options, condWidth: 1024 });
  assert.equal(sd2.config.generator.family, 'sd2');
  assert.deepEqual([sd2.config.P, sd2.config.N], [4, 4], "the paper's P = N = 4 by default");
});

test('init is seeded: the same seed gives the same bytes, another seed other values', () => {
  const a = initAndWrite(join(root, 'a'), options);
  const b = initAndWrite(join(root, 'b'), options);
  const c = initAndWrite(join(root, 'c'), { ...options, seed: 8 });
  assert.equal(a.fingerprint, b.fingerprint);
  assert.notEqual(a.fingerprint, c.fingerprint);
  assert.equal(
    a.fingerprint,
    createHash('sha256')
      .update(readFileSync(join(root, 'a', SOFT_WEIGHTS_FILE)))
      .digest('hex'),
  );
});

test('init --mlp: P-Tuning v2 reparameterisation tensors, hidden width by default', () => {
  const { config, tensors } = initSoftModule({ ...options, mlp: true });
  assert.equal(config.reparameterisation, 'mlp');
  assert.equal(config.prefixHidden, 64);
  assert.equal(tensors.prefix, undefined);
  assert.equal(tensors.mlp!.weight2.length, 3 * 2 * 2 * 16 * 64);
  const module = writeSoftModule(join(root, 'mlp'), config, tensors);
  assert.deepEqual(
    [...readSafetensors(join(root, 'mlp', SOFT_WEIGHTS_FILE)).tensors.keys()],
    ['prefix_embedding', 'prefix_mlp.0.weight', 'prefix_mlp.0.bias', 'prefix_mlp.2.weight', 'prefix_mlp.2.bias', 'tokens', 'map.weight', 'map.bias'],
  );
  assert.deepEqual(Array.from(module.tensors.mlp!.bias2), Array.from(tensors.mlp!.bias2));
});

test('init refuses N = 0, a negative P and a bad seed, in one line naming the flag', () => {
  assert.throws(() => initSoftModule({ ...options, N: 0 }), /: N must be a whole number from 1 .*N = 0/);
  assert.throws(() => initSoftModule({ ...options, P: -1 }), /: P must be a whole number from 0/);
  assert.throws(() => initSoftModule({ ...options, seed: -2 }), /: seed must be a whole number/);
});

test('write, read back: the module as written; an earlier module is replaced, a folder with other files refused', () => {
  const { config, tensors } = initSoftModule(options);
  const dir = join(root, 'rw');
  const written = writeSoftModule(dir, config, tensors);
  assert.deepEqual(readdirSync(dir).sort(), [SOFT_CONFIG_FILE, SOFT_WEIGHTS_FILE].sort());
  const read = readSoftModule(dir);
  assert.deepEqual(read.config, config);
  assert.deepEqual(Array.from(read.tensors.tokens), Array.from(tensors.tokens));
  assert.equal(read.fingerprint, written.fingerprint);
  const again = initAndWrite(dir, { ...options, seed: 99 });
  assert.notEqual(again.fingerprint, written.fingerprint);
  const busy = join(root, 'busy');
  mkdirSync(busy);
  writeFileSync(join(busy, 'notes.txt'), 'mine');
  assert.throws(() => writeSoftModule(busy, config, tensors), /: out .*busy holds other files \(notes\.txt\)/);
  assert.deepEqual(readdirSync(busy), ['notes.txt']);
  assert.ok(!readdirSync(root).some((n) => n.includes('.tmp-')), 'no temporary folder left');
});

test('reading a bad module: one line naming the file and what is wrong', () => {
  const { config, tensors } = initSoftModule(options);
  const dir = join(root, 'bad');
  const fresh = (): void => {
    rmSync(dir, { recursive: true, force: true });
    writeSoftModule(dir, config, tensors);
  };
  const fails = (pattern: RegExp, code = 'invalid-input'): void => {
    assert.throws(
      () => readSoftModule(dir),
      (e: unknown) => e instanceof PmgError && e.code === code && pattern.test(e.message) && !e.message.includes('\n'),
      String(pattern),
    );
  };
  assert.throws(
    () => readSoftModule(join(root, 'missing')),
    (e: unknown) => e instanceof PmgError && e.code === 'file-not-found' && /pmg soft init/.test(e.message),
  );
  fresh();
  writeFileSync(join(dir, SOFT_CONFIG_FILE), '{ "format": ');
  fails(/soft_config\.json is not valid JSON: line 1/);
  fresh();
  writeFileSync(join(dir, SOFT_CONFIG_FILE), softConfigJson({ ...config, N: 0 }));
  fails(/"N" is 0: a soft module needs at least one multimodal token/);
  fresh();
  writeFileSync(join(dir, SOFT_CONFIG_FILE), softConfigJson({ ...config, N: 5 }));
  fails(/tensor 'tokens' has shape \[4, 64\]; soft_config\.json needs \[5, 64\] \(N = 5, hidden = 64\)/);
  const weights = (extra: Record<string, ReturnType<typeof f32Tensor>>): void => {
    fresh();
    const file = readSafetensors(join(dir, SOFT_WEIGHTS_FILE));
    const merged = new Map(file.tensors);
    for (const [k, v] of Object.entries(extra)) merged.set(k, v);
    writeFileSync(join(dir, SOFT_WEIGHTS_FILE), encodeSafetensors(merged));
  };
  weights({ extra: f32Tensor(new Float32Array(1), [1]) });
  fails(/unexpected tensor 'extra'/);
  weights({ 'map.bias': { dtype: 'F16', shape: [768], data: new Uint8Array(768 * 2) } });
  fails(/tensor 'map\.bias' is F16; a soft module stores float32 \(F32\) tensors/);
  const inf = new Float32Array(768);
  inf[5] = Number.POSITIVE_INFINITY;
  weights({ 'map.bias': f32Tensor(inf, [768]) });
  fails(/tensor 'map\.bias' holds Infinity at index 5/);
  fresh();
  const bytes = readFileSync(join(dir, SOFT_WEIGHTS_FILE));
  writeFileSync(join(dir, SOFT_WEIGHTS_FILE), bytes.subarray(0, bytes.length - 100));
  fails(/is not a valid safetensors file: .*truncated/);
  fresh();
  rmSync(join(dir, SOFT_WEIGHTS_FILE));
  fails(/does not exist/, 'file-not-found');
  assert.ok(existsSync(join(dir, SOFT_CONFIG_FILE)));
});
