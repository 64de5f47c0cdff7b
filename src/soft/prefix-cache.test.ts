import { test } from 'node:test';
import assert from 'node:assert/strict';
import reference from './reference/soft-prefix.json' with { type: 'json' };
import { linearRows, modulePrefixCache, prefixCacheOf, prefixTable } from './prefix-cache.js';
import { SOFT_FORMAT, SOFT_FORMAT_VERSION, type SoftConfig } from './soft-config.js';
import { softModuleInMemory } from './soft-module.js';

const z = reference.sizes;
const shape = { layers: z.layers, kvHeads: z.kvHeads, headDim: z.headDim };

function close(actual: ArrayLike<number>, expected: readonly number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

function config(reparameterisation: 'none' | 'mlp'): SoftConfig {
  return {
    format: SOFT_FORMAT,
    formatVersion: SOFT_FORMAT_VERSION,
    P: z.P,
    N: z.N,
    hidden: z.hidden,
    layers: z.layers,
    kvHeads: z.kvHeads,
    headDim: z.headDim,
    condWidth: z.condWidth,
    reparameterisation,
    ...(reparameterisation === 'mlp' ? { prefixHidden: z.prefixHidden } : {}),
    llm: { id: 'llm', fingerprint: '0'.repeat(64) },
    generator: { family: 'sd1' },
    template: { name: 'movie-soft', version: '1' },
    trainedWith: 'test',
  };
}

const tensors = {
  tokens: Float32Array.from(reference.tokens),
  mapWeight: Float32Array.from(reference.map.weight),
  mapBias: Float32Array.from(reference.map.bias),
};

test("the prefix table becomes PEFT's key/value cache: layer l's keys are slot 2l, values slot 2l+1, [1, kvHeads, P, headDim]", () => {
  const cache = prefixCacheOf(Float32Array.from(reference.table), z.P, shape);
  assert.equal(cache.keys.length, z.layers);
  reference.tableLayout.forEach((layer, l) => {
    assert.deepEqual(cache.keys[l]!.dims, layer.shape);
    assert.deepEqual(cache.values[l]!.dims, layer.shape);
    assert.deepEqual(Array.from(cache.keys[l]!.data), layer.key, `keys of layer ${l}`);
    assert.deepEqual(Array.from(cache.values[l]!.data), layer.value, `values of layer ${l}`);
  });
});

test("the MLP reparameterisation is P-Tuning v2's PrefixEncoder (Linear, tanh, Linear) before the same layout", () => {
  const m = reference.mlp;
  const module = softModuleInMemory(config('mlp'), {
    ...tensors,
    mlp: {
      embedding: Float32Array.from(m.embedding),
      weight0: Float32Array.from(m.weight0),
      bias0: Float32Array.from(m.bias0),
      weight2: Float32Array.from(m.weight2),
      bias2: Float32Array.from(m.bias2),
    },
  });
  close(prefixTable(module), m.table, 1e-5, 'MLP table');
  const cache = modulePrefixCache(module)!;
  m.layout.forEach((layer, l) => {
    close(cache.keys[l]!.data, layer.key, 1e-5, `keys ${l}`);
    close(cache.values[l]!.data, layer.value, 1e-5, `values ${l}`);
  });
});

test('the map is nn.Linear: y = x·Wᵀ + b', () => {
  close(linearRows(Float32Array.from(reference.map.states), z.N, tensors.mapWeight, tensors.mapBias), reference.map.mapped, 1e-5, 'mapped');
});

test('P = 0 gives no prefix at all (the body runs without a cache)', () => {
  const module = softModuleInMemory({ ...config('none'), P: 0 }, { ...tensors, prefix: new Float32Array(0) });
  assert.equal(modulePrefixCache(module), undefined);
  const plain = softModuleInMemory(config('none'), { ...tensors, prefix: Float32Array.from(reference.table) });
  assert.equal(modulePrefixCache(plain)!.keys[0]!.dims[2], z.P);
});
