/**
 * The LLM body loader on both routes, and the exactness the soft branch rests on (issue 11 §1):
 *  (a) tokens run as a "prefix" through the normal path then the rest, versus their key/values fed as a caller prefix
 *      (from the body's own present.* or from the text-generation model's) then the rest: the same hidden states;
 *  (b) a multimodal token set to a real token's embedding gives that token's hidden state;
 *  (c) the builder layout (standard ops), the builder layout with GroupQueryAttention and prepare-soft of llm/ give
 *      the same outputs and the same fingerprint for the same weights.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeSafetensors, f32Tensor } from '../core/safetensors.js';
import { DataType, GraphBuilder } from '../fixtures/onnx-graph.js';
import { PmgError } from '../errors/pmg-error.js';
import { TINY_LLM_CONFIG, tinyLlmWeights } from '../fixtures/tiny-llm.js';
import type { PrefixCache } from '../spec/llm-body.js';
import type { FloatTensor } from '../spec/tensor.js';
import { HubServer } from '../testing/hub-server.js';
import { lastRows, maxAbsDifference, runTextGeneration, writeBodyFixtures } from '../testing/llm-body-helpers.js';
import { fingerprintPrefix } from './llm-body-embeddings.js';
import { loadLlmBody, type OnnxLlmBody } from './llm-body.js';
import { ModelStore } from './model-store.js';
import reference from './reference/llm-body.json' with { type: 'json' };

const root = await mkdtemp(join(tmpdir(), 'pmg-llm-body-'));
after(() => rm(root, { recursive: true, force: true }));
const fx = await writeBodyFixtures(root);
const routes: Record<string, OnnxLlmBody> = {
  builder: await loadLlmBody(fx.builder),
  'builder-gqa': await loadLlmBody(fx.builderGqa),
  'prepare-soft': await loadLlmBody(fx.prepared),
};
const { layers, kvHeads, headDim, hidden } = TINY_LLM_CONFIG;
const TOLERANCE = 1e-5;
const PROMPT = 'A person watched the following movies: 0. Heat 1. Drive. Please describe his movie interests.';

function concat(a: FloatTensor, b: FloatTensor): FloatTensor {
  const data = new Float32Array(a.data.length + b.data.length);
  data.set(a.data);
  data.set(b.data, a.data.length);
  return { data, dims: [1, a.dims[1]! + b.dims[1]!, a.dims[2]!] };
}

test('both routes load with the config of the tiny LLM; tokenize and embed read the folder tokenizer and table', async () => {
  const weights = tinyLlmWeights();
  for (const [name, body] of Object.entries(routes)) {
    assert.deepEqual(
      body.config,
      { hidden, layers, heads: TINY_LLM_CONFIG.heads, kvHeads, headDim, vocabSize: weights.vocabSize, maxPositions: TINY_LLM_CONFIG.maxPositions },
      name,
    );
    const ids = body.tokenize(PROMPT);
    assert.ok(ids.length > 10, name);
    const embedded = body.embed(ids);
    assert.deepEqual(embedded.dims, [1, ids.length, hidden]);
    assert.deepEqual(embedded.data.subarray(hidden, 2 * hidden), weights.embedding.subarray(ids[1]! * hidden, (ids[1]! + 1) * hidden), name);
  }
  assert.equal(routes.builder!.route, 'onnxruntime-genai');
  assert.equal(routes['prepare-soft']!.route, 'prepare-soft');
  assert.deepEqual(routes.builder!.tokenize(PROMPT), routes['prepare-soft']!.tokenize(PROMPT));
});

test('(c) the three routes give the same hidden states and the same fingerprint', async () => {
  const ids = routes.builder!.tokenize(PROMPT);
  const reference = await routes.builder!.forward(routes.builder!.embed(ids));
  assert.deepEqual(reference.dims, [1, ids.length, hidden]);
  for (const [name, body] of Object.entries(routes)) {
    const out = await body.forward(body.embed(ids));
    const diff = maxAbsDifference(out.data, reference.data);
    assert.ok(diff <= TOLERANCE, `${name} differs from the builder body by ${diff}`);
    assert.equal(body.fingerprint, routes.builder!.fingerprint, name);
  }
  // And all of them agree with the text-generation model itself.
  const textGeneration = await runTextGeneration(join(fx.llm, 'onnx', 'model.onnx'), ids, layers, kvHeads, headDim);
  assert.ok(maxAbsDifference(reference.data, textGeneration.hidden.data) <= TOLERANCE);
  assert.match(routes.builder!.fingerprint, /^[0-9a-f]{64}$/);
});

test('the fingerprint is sha256 of the dimension line and the float32 table, and changes with the table', async () => {
  const weights = tinyLlmWeights();
  const { createHash } = await import('node:crypto');
  const expected = createHash('sha256').update(fingerprintPrefix(routes.builder!.config)).update(new Uint8Array(weights.embedding.buffer)).digest('hex');
  assert.equal(routes.builder!.fingerprint, expected);
  assert.equal(fingerprintPrefix(routes.builder!.config), `pmg-llm-body/1 hidden=64 layers=2 heads=4 kv_heads=2 head_dim=16 vocab=${weights.vocabSize}\n`);
  const copy = join(root, 'changed-table');
  cpSync(fx.builder, copy, { recursive: true });
  const changed = Float32Array.from(weights.embedding);
  changed[7] = changed[7]! + 1e-3;
  writeFileSync(join(copy, 'embed_tokens.safetensors'), encodeSafetensors({ 'model.embed_tokens.weight': f32Tensor(changed, [weights.vocabSize, hidden]) }));
  assert.notEqual((await loadLlmBody(copy)).fingerprint, routes.builder!.fingerprint);
});

test('(a) real tokens as a prefix: the body on [prefix + rest] equals the rest after the prefix as a caller cache', async () => {
  for (const [name, body] of Object.entries(routes)) {
    const ids = body.tokenize(PROMPT);
    const split = 6;
    const whole = await body.forward(body.embed(ids));
    const first = await body.forwardWithCache(body.embed(ids.slice(0, split)));
    assert.deepEqual(first.cache.keys[0]!.dims, [1, kvHeads, split, headDim]);
    const rest = await body.forward(body.embed(ids.slice(split)), first.cache);
    const diff = maxAbsDifference(rest.data, lastRows(whole, ids.length - split));
    assert.ok(diff <= TOLERANCE, `${name}: prefix from the body's present.* differs by ${diff}`);
    // The cache after the rest equals the cache of the whole sequence.
    const continued = await body.forwardWithCache(body.embed(ids.slice(split)), first.cache);
    const full = await body.forwardWithCache(body.embed(ids));
    assert.ok(maxAbsDifference(continued.cache.values[1]!.data, full.cache.values[1]!.data) <= TOLERANCE, name);
    // Without the prefix the rest is different: the prefix matters.
    const alone = await body.forward(body.embed(ids.slice(split)));
    assert.ok(maxAbsDifference(alone.data, rest.data) > 1e-3, `${name}: the prefix changes nothing`);
  }
});

test("(a) the text-generation model's own present.* as the caller prefix gives the same rest on every route", async () => {
  const ids = routes.builder!.tokenize(PROMPT);
  const split = 9;
  const prefix = await runTextGeneration(join(fx.llm, 'onnx', 'model.onnx'), ids.slice(0, split), layers, kvHeads, headDim);
  const whole = await runTextGeneration(join(fx.llm, 'onnx', 'model.onnx'), ids, layers, kvHeads, headDim);
  for (const [name, body] of Object.entries(routes)) {
    const rest = await body.forward(body.embed(ids.slice(split)), prefix.cache);
    const diff = maxAbsDifference(rest.data, lastRows(whole.hidden, ids.length - split));
    assert.ok(diff <= TOLERANCE, `${name}: ${diff}`);
  }
});

test("(b) a multimodal token set to a real token's embedding gives that token's hidden state, with a prefix too", async () => {
  const weights = tinyLlmWeights();
  for (const [name, body] of Object.entries(routes)) {
    const ids = body.tokenize(PROMPT);
    const token = ids[3]!;
    // A soft-module token: a free vector of width hidden, here set to the table's row of `token`.
    const soft: FloatTensor = { data: Float32Array.from(weights.embedding.subarray(token * hidden, (token + 1) * hidden)), dims: [1, 1, hidden] };
    const prefix = (await body.forwardWithCache(body.embed(body.tokenize('Heat Drive')))).cache;
    for (const cache of [undefined, prefix]) {
      const withSoft = await body.forward(concat(body.embed(ids), soft), cache);
      const withToken = await body.forward(body.embed([...ids, token]), cache);
      assert.ok(maxAbsDifference(withSoft.data, withToken.data) <= TOLERANCE, name);
      const other: FloatTensor = { data: soft.data.map((v, i) => (i === 5 ? v + 1 : v)), dims: soft.dims };
      const moved = await body.forward(concat(body.embed(ids), other), cache);
      assert.ok(maxAbsDifference(lastRows(moved, 1), lastRows(withToken, 1)) > 1e-3, `${name}: another vector gives another hidden state`);
    }
  }
});

function floats(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

test("every route matches transformers' Llama arithmetic (torch, float64) with a random prefix cache and free soft tokens", async () => {
  assert.deepEqual(
    [
      reference.config.hidden_size,
      reference.config.num_hidden_layers,
      reference.config.num_key_value_heads,
      reference.config.head_dim,
      reference.config.vocab_size,
    ],
    [hidden, layers, kvHeads, headDim, tinyLlmWeights().vocabSize],
  );
  assert.equal(reference.cases.length, 3);
  for (const c of reference.cases) {
    const p = c.prefix_length;
    const prefix: PrefixCache = {
      keys: c.prefix_keys.map((k) => ({ data: floats(k), dims: [1, kvHeads, p, headDim] })),
      values: c.prefix_values.map((v) => ({ data: floats(v), dims: [1, kvHeads, p, headDim] })),
    };
    const expected = floats(c.hidden_float32_base64);
    for (const [name, body] of Object.entries(routes)) {
      const tokens = c.ids.length > 0 ? body.embed(c.ids) : { data: new Float32Array(0), dims: [1, 0, hidden] };
      const embeds = concat(tokens, { data: floats(c.soft_float32_base64), dims: [1, c.soft_tokens, hidden] });
      const out = await body.forward(embeds, p > 0 ? prefix : undefined);
      const diff = maxAbsDifference(out.data, expected);
      assert.ok(diff <= TOLERANCE, `${name}, ${c.name}: ${diff} from the reference`);
    }
  }
});

test('a prefix of the wrong shape is one error naming the layer and the expected shape', async () => {
  const body = routes['builder-gqa']!;
  const good = (await body.forwardWithCache(body.embed([5, 6, 7]))).cache;
  const embeds = body.embed([8]);
  const cases: Array<[PrefixCache, RegExp]> = [
    [{ keys: good.keys.slice(0, 1), values: good.values }, /the prefix has 1 key tensors; this LLM body has 2 layers and needs one per layer/],
    [
      { keys: good.keys, values: [good.values[0]!, { data: new Float32Array(4 * 3 * 16), dims: [1, 4, 3, 16] }] },
      /prefix layer 1 value has shape \[1, 4, 3, 16\]; this LLM body needs \[1, 2, 3, 16\] in every layer/,
    ],
    [
      { keys: [good.keys[0]!, { data: new Float32Array(2 * 2 * 16), dims: [1, 2, 2, 16] }], values: good.values },
      /prefix layer 1 key has shape \[1, 2, 2, 16\]; .*one prefix length P/,
    ],
    [
      { keys: [{ data: new Float32Array(2 * 3 * 8), dims: [1, 2, 3, 8] }, good.keys[1]!], values: good.values },
      /prefix layer 0 key has shape \[1, 2, 3, 8\]; this LLM body needs \[1, 2, 3, 16\].*head size 16/,
    ],
    [
      { keys: [{ data: new Float32Array(5), dims: [1, 2, 3, 16] }, good.keys[1]!], values: good.values },
      /prefix layer 0 key has shape \[1, 2, 3, 16\] with 5 values/,
    ],
  ];
  for (const [prefix, message] of cases) {
    await assert.rejects(
      body.forward(embeds, prefix),
      (error: unknown) => error instanceof PmgError && error.code === 'invalid-argument' && message.test(error.message) && !error.message.includes('\n'),
    );
  }
  await assert.rejects(body.forward({ data: new Float32Array(32), dims: [1, 1, 32] }), /inputsEmbeds has shape \[1, 1, 32\]; this LLM body needs \[1, T, 64\]/);
  assert.throws(() => body.embed([100000]), /token id 100000 \(position 0\) is outside the embedding table's \d+ rows/);
});

/** A copy of a fixture body to break. */
function copyOf(source: string, name: string): string {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  cpSync(source, dir, { recursive: true });
  return dir;
}

test('bad folders are one line each: neither layout, input_ids export, missing or truncated or wrong table, config mismatch', async () => {
  const expectLayout = async (dir: string, code: string, message: RegExp) =>
    assert.rejects(
      loadLlmBody(dir),
      (error: unknown) => error instanceof PmgError && error.code === code && message.test(error.message) && !error.message.includes('\n'),
    );
  const empty = join(root, 'empty');
  mkdirSync(empty, { recursive: true });
  await expectLayout(
    empty,
    'model-layout',
    /has neither genai_config\.json nor pmg-body\.json; an LLM body is an onnxruntime-genai builder export made with '--extra_options exclude_embeds=true exclude_lm_head=true'/,
  );
  await expectLayout(fx.llm, 'model-layout', /looks like a transformers\.js text-generation export .* 'pmg models prepare-soft .* --out DIR'/);
  await expectLayout(join(root, 'nowhere'), 'model-not-found', /folder .*nowhere does not exist/);

  const withIds = copyOf(fx.builder, 'with-input-ids');
  const genai = JSON.parse(readFileSync(join(withIds, 'genai_config.json'), 'utf8')) as { model: { decoder: { inputs: Record<string, string> } } };
  genai.model.decoder.inputs = { input_ids: 'input_ids', attention_mask: 'attention_mask' };
  writeFileSync(join(withIds, 'genai_config.json'), JSON.stringify(genai));
  await expectLayout(withIds, 'model-layout', /the model takes input_ids, so it was exported without exclude_embeds; re-export with/);

  const noTable = copyOf(fx.builder, 'no-table');
  rmSync(join(noTable, 'embed_tokens.safetensors'));
  await expectLayout(noTable, 'model-file-missing', /lacks its embedding table .*embed_tokens\.safetensors; see 'LLM bodies' in docs\/soft\.md/);

  const truncated = copyOf(fx.prepared, 'truncated-table');
  truncateSync(join(truncated, 'embed_tokens.safetensors'), 5000);
  await expectLayout(
    truncated,
    'invalid-input',
    /embed_tokens\.safetensors is not a valid safetensors file: tensor 'model\.embed_tokens\.weight' ends at byte \d+ of the data, but the data has \d+ bytes \(truncated\?\)/,
  );

  const wrongShape = copyOf(fx.builder, 'wrong-table');
  writeFileSync(
    join(wrongShape, 'embed_tokens.safetensors'),
    encodeSafetensors({ 'model.embed_tokens.weight': f32Tensor(new Float32Array(10 * 64), [10, 64]) }),
  );
  await expectLayout(
    wrongShape,
    'model-layout',
    /has shape \[10, 64\], but the model's config needs \[\d+, 64\] \(vocab, hidden\); is it the table of another model\?/,
  );

  const wrongName = copyOf(fx.builder, 'wrong-name');
  writeFileSync(
    join(wrongName, 'embed_tokens.safetensors'),
    encodeSafetensors({ a: f32Tensor(new Float32Array(1), [1]), b: f32Tensor(new Float32Array(1), [1]) }),
  );
  await expectLayout(wrongName, 'model-layout', /has no tensor 'model\.embed_tokens\.weight' \(it has a, b\)/);

  const mismatch = copyOf(fx.prepared, 'config-mismatch');
  const config = JSON.parse(readFileSync(join(mismatch, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(mismatch, 'config.json'), JSON.stringify({ ...config, num_key_value_heads: 4 }));
  await expectLayout(
    mismatch,
    'model-layout',
    /config\.json says num_key_value_heads 4 but the body's description says 2; the files come from different models/,
  );

  const badFormat = copyOf(fx.prepared, 'bad-format');
  writeFileSync(join(badFormat, 'pmg-body.json'), JSON.stringify({ format: 'pmg-llm-body', format_version: 9 }));
  await expectLayout(badFormat, 'model-layout', /has format "pmg-llm-body" version 9; this pmg reads 'pmg-llm-body' version 1/);
});

test('a hub repo id is pulled through the model store (description first, then the graph it names)', async () => {
  const server = await HubServer.start();
  try {
    await server.addFolder('tiny/llm-body-gqa', fx.builderGqa);
    await server.addFolder('tiny/body2', fx.prepared);
    const store = new ModelStore({ cacheDir: join(root, 'cache'), endpoint: server.url, offline: false, retryDelayMs: 1 });
    for (const id of ['tiny/llm-body-gqa', 'tiny/body2']) {
      const body = await loadLlmBody(id, { store });
      assert.match(body.id, new RegExp(`^${id}@[0-9a-f]{40}$`));
      assert.equal(body.fingerprint, routes.builder!.fingerprint);
      const ids = body.tokenize(PROMPT);
      const diff = maxAbsDifference((await body.forward(body.embed(ids))).data, (await routes.builder!.forward(routes.builder!.embed(ids))).data);
      assert.ok(diff <= TOLERANCE, `${id}: ${diff}`);
    }
    await assert.rejects(loadLlmBody('tiny/none', { store }), (error: unknown) => error instanceof PmgError && error.code === 'model-not-found');
  } finally {
    await server.close();
  }
});

test('float16 graph inputs are fed float16 and float16 outputs read back as float32 (fp16 exports)', async () => {
  const dir = join(root, 'fp16-body');
  mkdirSync(dir, { recursive: true });
  const vocab = tinyLlmWeights().vocabSize;
  const g = new GraphBuilder('fp16_body');
  const embeds = g.input('inputs_embeds', DataType.FLOAT16, ['batch_size', 'sequence_length', 2]);
  g.input('attention_mask', DataType.INT64, ['batch_size', 'total_sequence_length']);
  const pastKey = g.input('past_key_values.0.key', DataType.FLOAT16, ['batch_size', 1, 'past_sequence_length', 2]);
  const pastValue = g.input('past_key_values.0.value', DataType.FLOAT, ['batch_size', 1, 'past_sequence_length', 2]);
  g.output('hidden_states', DataType.FLOAT16, ['batch_size', 'sequence_length', 2]);
  g.output('present.0.key', DataType.FLOAT16, ['batch_size', 1, 'total_sequence_length', 2]);
  g.output('present.0.value', DataType.FLOAT, ['batch_size', 1, 'total_sequence_length', 2]);
  g.op('Add', [embeds, g.initializer('one', DataType.FLOAT16, [], Uint16Array.of(0x3c00))], {}, 'hidden_states');
  g.op('Identity', [pastKey], {}, 'present.0.key');
  g.op('Identity', [pastValue], {}, 'present.0.value');
  writeFileSync(join(dir, 'model.onnx'), g.toBytes({ opset: 21 }));
  const genai = JSON.parse(readFileSync(join(fx.builder, 'genai_config.json'), 'utf8')) as { model: { decoder: Record<string, unknown> } };
  Object.assign(genai.model.decoder, { hidden_size: 2, head_size: 2, num_attention_heads: 1, num_key_value_heads: 1, num_hidden_layers: 1 });
  writeFileSync(join(dir, 'genai_config.json'), JSON.stringify(genai));
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) cpSync(join(fx.builder, file), join(dir, file));
  writeFileSync(
    join(dir, 'embed_tokens.safetensors'),
    encodeSafetensors({ 'model.embed_tokens.weight': f32Tensor(new Float32Array(vocab * 2).fill(0.5), [vocab, 2]) }),
  );
  const body = await loadLlmBody(dir);
  const prefix: PrefixCache = {
    keys: [{ data: Float32Array.of(0.25, -2, 3, 1 / 3), dims: [1, 1, 2, 2] }],
    values: [{ data: Float32Array.of(1, 2, 3, 1 / 3), dims: [1, 1, 2, 2] }],
  };
  const pass = await body.forwardWithCache({ data: Float32Array.of(1.5, -0.25), dims: [1, 1, 2] }, prefix);
  assert.deepEqual(Array.from(pass.hidden.data), [2.5, 0.75]);
  assert.deepEqual(Array.from(pass.cache.keys[0]!.data), [0.25, -2, 3, 0.333251953125], 'keys went through float16');
  assert.deepEqual(pass.cache.values[0]!.data, Float32Array.of(1, 2, 3, 1 / 3), 'float32 values stay float32');
});
