import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, f32Tensor, type SafetensorsTensor } from '../core/safetensors.js';
import { PmgError } from '../errors/pmg-error.js';
import reference from './reference/soft-prefix.json' with { type: 'json' };
import { modulePrefixCache, prefixTable } from './prefix-cache.js';
import { importSoftWeights } from './soft-import.js';
import { softModuleInMemory } from './soft-module.js';
import type { SoftModuleTarget } from './soft-init.js';

const root = mkdtempSync(join(tmpdir(), 'pmg-soft-import-'));
after(() => rmSync(root, { recursive: true, force: true }));

const z = reference.sizes;
const target: SoftModuleTarget = {
  body: {
    id: 'ref-llm',
    config: { hidden: z.hidden, layers: z.layers, heads: z.heads, kvHeads: z.kvHeads, headDim: z.headDim, vocabSize: 10 },
    fingerprint: 'f'.repeat(64),
  },
  condWidth: z.condWidth,
  generatorId: 'ref-sd',
  scene: 'movie',
  templateVersion: '1',
};

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(root, name);
  writeFileSync(path, typeof bytes === 'string' ? Buffer.from(bytes, 'base64') : bytes);
  return path;
}

function close(actual: ArrayLike<number>, expected: readonly number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

test("the PMG port's state dict (mapping_layer, trainable_prompt [1, N, hidden], prefix_encoder.embedding, prefix_tokens) imports exactly", () => {
  const { config, tensors } = importSoftWeights(file('port.safetensors', reference.files.port), target);
  assert.equal(config.reparameterisation, 'none');
  assert.deepEqual([config.P, config.N, config.condWidth, config.trainedWith, config.importedFrom], [z.P, z.N, z.condWidth, 'import', 'port.safetensors']);
  assert.deepEqual(config.llm, { id: 'ref-llm', fingerprint: 'f'.repeat(64) });
  assert.deepEqual(Array.from(tensors.tokens), reference.tokens);
  assert.deepEqual(Array.from(tensors.mapWeight), reference.map.weight);
  const cache = modulePrefixCache(softModuleInMemory(config, tensors))!;
  reference.tableLayout.forEach((layer, l) => {
    assert.deepEqual(Array.from(cache.keys[l]!.data), layer.key);
    assert.deepEqual(Array.from(cache.values[l]!.data), layer.value);
  });
});

test('a DataParallel MLP checkpoint in float16 imports as the MLP reparameterisation (module. dropped, F16 read as float32)', () => {
  const { config, tensors } = importSoftWeights(file('mlp.safetensors', reference.files.mlpHalf), target);
  assert.equal(config.reparameterisation, 'mlp');
  assert.equal(config.prefixHidden, z.prefixHidden);
  close(prefixTable(softModuleInMemory(config, tensors)), reference.files.mlpHalfTable, 1e-5, 'table from fp16 weights');
  assert.deepEqual(Array.from(tensors.tokens), reference.tokens, 'tokens given as [N, hidden]');
});

function craft(name: string, tensors: Record<string, SafetensorsTensor>): string {
  return file(name, encodeSafetensors(tensors));
}
const f32 = (values: readonly number[], shape: number[]) => f32Tensor(Float32Array.from(values), shape);
const good = {
  prefix: f32(reference.table, [z.P, z.width]),
  trainable_prompt: f32(reference.tokens, [1, z.N, z.hidden]),
  'mapping_layer.weight': f32(reference.map.weight, [z.condWidth, z.hidden]),
  'mapping_layer.bias': f32(reference.map.bias, [z.condWidth]),
};

function rejects(tensors: Record<string, SafetensorsTensor>, pattern: RegExp, t: Partial<SoftModuleTarget> = {}): void {
  const path = craft('bad.safetensors', tensors);
  assert.throws(
    () => importSoftWeights(path, { ...target, ...t }),
    (e: unknown) => e instanceof PmgError && e.code === 'invalid-input' && pattern.test(e.message) && !e.message.includes('\n'),
    String(pattern),
  );
}

test('bad files are one line naming the tensor and what it must be', () => {
  rejects({ ...good, 'lm_head.weight': f32([1], [1]) }, /unexpected tensor 'lm_head\.weight'.*docs\/soft\.md/);
  rejects({ ...good, tokens: f32(reference.tokens, [z.N, z.hidden]) }, /'trainable_prompt' and 'tokens' both give the multimodal tokens/);
  rejects({ ...good, trainable_prompt: f32([], [0, z.hidden]) }, /no token \(N = 0\)/);
  rejects({ ...good, trainable_prompt: f32(reference.tokens.slice(0, 8), [2, 4]) }, /'trainable_prompt' has shape \[2, 4\]; .*\[N, 40\]/);
  rejects(
    { ...good, 'mapping_layer.weight': f32(new Array(4 * z.hidden).fill(0), [4, z.hidden]), 'mapping_layer.bias': f32([0, 0, 0, 0], [4]) },
    /maps into 4-wide embeddings, but the generator ref-sd has 6-wide text embeddings/,
  );
  const mhaWidth = z.layers * 2 * z.heads * z.headDim;
  rejects(
    { ...good, prefix: f32(new Array(z.P * mhaWidth).fill(0), [z.P, mhaWidth]) },
    new RegExp(`layers·2·heads·headDim = ${mhaWidth} wide .* 2 key/value heads.*\\[P, ${z.width}\\]`),
  );
  rejects(
    { ...good, prefix: f32(new Array(z.P * 20).fill(0), [z.P, 20]) },
    new RegExp(`'prefix' has shape \\[3, 20\\]; the prefix table must be \\[P, ${z.width}\\]`),
  );
  rejects(
    { prefix: good.prefix, trainable_prompt: good.trainable_prompt, 'mapping_layer.weight': good['mapping_layer.weight'] },
    /no tensor gives the map's bias; name it 'map\.bias' or 'mapping_layer\.bias'/,
  );
  const nan = Float32Array.from(reference.tokens);
  nan[3] = Number.NaN;
  rejects({ ...good, trainable_prompt: f32Tensor(nan, [1, z.N, z.hidden]) }, /'trainable_prompt' holds NaN at index 3/);
  const ints = { dtype: 'I32' as const, shape: [1, z.N, z.hidden], data: new Uint8Array(z.N * z.hidden * 4) };
  rejects({ ...good, trainable_prompt: ints }, /'trainable_prompt' has dtype I32; a floating-point tensor/);
  rejects({ ...good, 'prefix_encoder.trans.0.weight': f32(new Array(4 * z.hidden).fill(0), [4, z.hidden]) }, /no tensor gives the prefix MLP's embedding/);
});

test('a truncated file is one line from the safetensors reader', () => {
  const whole = encodeSafetensors(good);
  const path = file('cut.safetensors', whole.subarray(0, whole.length - 10));
  assert.throws(() => importSoftWeights(path, target), /not a valid safetensors file: .*truncated/);
});
