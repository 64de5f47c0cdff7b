import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { readSafetensors, tensorFloats } from '../core/safetensors.js';
import { PmgError } from '../errors/pmg-error.js';
import { DataType, GraphBuilder, attr } from '../fixtures/onnx-graph.js';
import { TINY_LLM_CONFIG, tinyLlmConfigJson, tinyLlmWeights, writeTinyLlm } from '../fixtures/tiny-llm.js';
import { dequantizeInt8, quantizeInt8 } from '../fixtures/tiny-llm-graph.js';
import { llmTokenizerFiles } from '../fixtures/tiny-llm-tokenizer.js';
import { writeTinyLlmBody } from '../fixtures/tiny-llm-body.js';
import { writeTinyLlmVariant, type TinyLlmVariant } from '../fixtures/tiny-llm-variants.js';
import { HubServer } from '../testing/hub-server.js';
import { maxAbsDifference, runTextGeneration } from '../testing/llm-body-helpers.js';
import { loadLlmBody } from './llm-body.js';
import { ModelStore } from './model-store.js';
import { prepareSoft } from './prepare-soft.js';

const root = await mkdtemp(join(tmpdir(), 'pmg-prepare-soft-'));
after(() => rm(root, { recursive: true, force: true }));
const { layers, kvHeads, headDim, hidden } = TINY_LLM_CONFIG;
const IDS = [1, 40, 41, 42, 43, 44, 45, 46, 47, 2];
await writeTinyLlm(join(root, 'llm'));
await writeTinyLlmBody(join(root, 'builder'), 'standard');
const builder = await loadLlmBody(join(root, 'builder'));

async function bodyHidden(dir: string): Promise<Float32Array> {
  const body = await loadLlmBody(dir);
  return (await body.forward(body.embed(IDS))).data;
}

test('the plain export: last_hidden_state kept, input_ids and logits gone, position_ids kept, pmg-body.json written', async () => {
  const prepared = await prepareSoft(join(root, 'llm'), join(root, 'plain'));
  assert.equal(prepared.hiddenFrom, "the graph's own last_hidden_state output");
  assert.deepEqual(prepared.removed.inputs, ['input_ids']);
  assert.deepEqual(prepared.removed.outputs, ['logits']);
  assert.equal(prepared.positions, true);
  assert.deepEqual(readdirSync(join(root, 'plain')).sort(), [
    'config.json',
    'embed_tokens.safetensors',
    'generation_config.json',
    'model.onnx',
    'pmg-body.json',
    'special_tokens_map.json',
    'tokenizer.json',
    'tokenizer_config.json',
  ]);
  const graph = onnxProto.onnx.ModelProto.decode(readFileSync(join(root, 'plain', 'model.onnx'))).graph!;
  assert.deepEqual(graph.input!.map((v) => v.name).slice(0, 3), ['inputs_embeds', 'attention_mask', 'position_ids']);
  assert.deepEqual(
    graph.output!.map((v) => v.name),
    ['present.0.key', 'present.0.value', 'present.1.key', 'present.1.value', 'last_hidden_state'],
  );
  assert.equal(graph.node!.filter((n) => n.opType === 'Gather' && n.input![1] === 'input_ids').length, 0);
  assert.ok(!graph.initializer!.some((t) => t.name!.startsWith('lm_head')), 'the LM head weight is gone');
  const description = JSON.parse(readFileSync(join(root, 'plain', 'pmg-body.json'), 'utf8')) as Record<string, any>;
  assert.equal(description.format, 'pmg-llm-body');
  assert.deepEqual(description.model.decoder.inputs, {
    inputs_embeds: 'inputs_embeds',
    attention_mask: 'attention_mask',
    position_ids: 'position_ids',
    past_key_names: 'past_key_values.%d.key',
    past_value_names: 'past_key_values.%d.value',
  });
  assert.equal(description.model.decoder.outputs.hidden_states, 'last_hidden_state');
  assert.deepEqual(description.embeddings, {
    filename: 'embed_tokens.safetensors',
    tensor: 'model.embed_tokens.weight',
    dtype: 'F32',
    from: 'float32 initializer embed_tokens_0',
  });
  const table = readSafetensors(join(root, 'plain', 'embed_tokens.safetensors')).tensors.get('model.embed_tokens.weight')!;
  assert.deepEqual(tensorFloats('t', table), tinyLlmWeights().embedding);
  assert.ok(maxAbsDifference(await bodyHidden(join(root, 'plain')), (await builder.forward(builder.embed(IDS))).data) <= 1e-5);
});

const variants: Array<[string, TinyLlmVariant, 'fp32' | 'q8', RegExp, RegExp]> = [
  ['no-last-hidden', {}, 'fp32', /^the input of the LM head MatMul node .* \(the output of Mul node /, /^float32 initializer/],
  [
    'q8-dequantize-gather',
    { embedding: 'int8-dequantize-gather' },
    'q8',
    /LM head MatMul/,
    /^int8 initializer embed_tokens_quantized_\d+ through DequantizeLinear node .* \(per-tensor\), dequantized once$/,
  ],
  [
    'q8-gather-dequantize',
    { embedding: 'int8-gather-dequantize' },
    'q8',
    /LM head MatMul/,
    /^int8 initializer embed_tokens_quantized_\d+ gathered, then DequantizeLinear node .* \(per-tensor\), dequantized once$/,
  ],
  ['external', { externalData: true }, 'fp32', /LM head MatMul/, /^float32 initializer/],
  [
    'q8-external',
    { embedding: 'int8-gather-dequantize', externalData: true, lastHiddenState: true },
    'q8',
    /own last_hidden_state/,
    /gathered, then DequantizeLinear/,
  ],
];

for (const [name, variant, dtype, hiddenFrom, tableFrom] of variants) {
  test(`variant ${name}: found, rewritten, and equal to the source model's own final hidden states`, async () => {
    const source = join(root, name);
    const file = await writeTinyLlmVariant(source, variant);
    const prepared = await prepareSoft(source, join(root, `${name}-body`), { dtype });
    assert.match(prepared.hiddenFrom, hiddenFrom);
    assert.match(prepared.table.from, tableFrom);
    // The reference: the same graph with its last_hidden_state, run on token ids.
    const referenceDir = join(root, `${name}-reference`);
    const referenceFile = await writeTinyLlmVariant(referenceDir, { ...variant, lastHiddenState: true });
    const reference = await runTextGeneration(join(referenceDir, referenceFile), IDS, layers, kvHeads, headDim);
    const diff = maxAbsDifference(await bodyHidden(join(root, `${name}-body`)), reference.hidden.data);
    assert.ok(diff <= 1e-5, `${name}: ${diff}`);
    const table = tensorFloats('t', readSafetensors(join(root, `${name}-body`, 'embed_tokens.safetensors')).tensors.get('model.embed_tokens.weight')!);
    const weights = tinyLlmWeights();
    if (variant.embedding && variant.embedding !== 'float') {
      const { q, scale } = quantizeInt8(weights.embedding);
      assert.deepEqual(table, dequantizeInt8(q, scale), 'dequantized once, exactly as DequantizeLinear computes');
    } else {
      assert.deepEqual(table, weights.embedding);
    }
    if (variant.externalData) {
      const dataFile = `${basename(file)}_data`;
      assert.deepEqual(
        prepared.externalData.map((d) => d.file),
        [dataFile],
      );
      assert.equal(statSync(join(root, `${name}-body`, dataFile)).size, statSync(join(source, 'onnx', dataFile)).size);
      const description = JSON.parse(readFileSync(join(root, `${name}-body`, 'pmg-body.json'), 'utf8')) as { external_data: string[] };
      assert.deepEqual(description.external_data, [dataFile]);
      const graph = onnxProto.onnx.ModelProto.decode(readFileSync(join(root, `${name}-body`, 'model.onnx'))).graph!;
      assert.ok(graph.initializer!.filter((t) => Number(t.dataLocation) === 1).length >= layers * 7, 'layer weights stay external');
    }
  });
}

/** A text-generation folder whose graph is built by `build` (inputs/outputs as the function declares). */
function writeGraphFolder(name: string, build: (g: GraphBuilder) => void): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyLlmConfigJson()));
  for (const [file, content] of Object.entries(llmTokenizerFiles())) writeFileSync(join(dir, file), content);
  const g = new GraphBuilder('bad');
  build(g);
  writeFileSync(join(dir, 'onnx', 'model.onnx'), g.toBytes({ opset: 21 }));
  return dir;
}

test('graphs it cannot rewrite are one line naming the node or pattern, and nothing is written', async () => {
  const vocab = tinyLlmWeights().vocabSize;
  const cases: Array<[string, (g: GraphBuilder) => void, RegExp]> = [
    [
      'no-gather',
      (g) => {
        const ids = g.input('input_ids', DataType.INT64, ['b', 's']);
        g.output('logits', DataType.FLOAT, ['b', 's']);
        g.op('Cast', [ids], { to: attr.int(DataType.FLOAT) }, 'logits');
      },
      /no Gather node takes input_ids as its indices \(input_ids feeds Cast node n_Cast_\d+\), so pmg cannot find the embedding lookup/,
    ],
    [
      'no-input-ids',
      (g) => {
        const x = g.input('tokens', DataType.FLOAT, ['b', 's']);
        g.output('y', DataType.FLOAT, ['b', 's']);
        g.op('Identity', [x], {}, 'y');
      },
      /it has no input_ids input \(inputs: tokens\)/,
    ],
    [
      'block-quantized',
      (g) => {
        const ids = g.input('input_ids', DataType.INT64, ['b', 's']);
        g.output('logits', DataType.FLOAT, ['b', 's', hidden]);
        const table = g.initializer('q', DataType.UINT8, [vocab, hidden / 2], new Uint8Array((vocab * hidden) / 2));
        const scales = g.float([vocab, hidden / 32], new Float32Array((vocab * hidden) / 32));
        g.node('GatherBlockQuantized', [table, ids, scales], ['logits'], { block_size: attr.int(32) }, 'com.microsoft');
      },
      /the embedding lookup is GatherBlockQuantized node n_GatherBlockQuantized_\d+, a block-quantized \(4-bit\) table pmg does not dequantize; use the fp32, fp16 or q8 export/,
    ],
    [
      'blocked-dequantize',
      (g) => {
        const ids = g.input('input_ids', DataType.INT64, ['b', 's']);
        g.output('logits', DataType.FLOAT, ['b', 's', hidden]);
        const table = g.initializer('q', DataType.INT8, [vocab, hidden], new Uint8Array(vocab * hidden));
        const scale = g.float([vocab, hidden / 32], new Float32Array((vocab * hidden) / 32));
        const dq = g.op('DequantizeLinear', [table, scale], { axis: attr.int(1), block_size: attr.int(32) });
        g.op('Gather', [dq, ids], {}, 'logits');
      },
      /DequantizeLinear node n_DequantizeLinear_\d+ uses blocked quantization \(block_size 32\), which pmg does not dequantize/,
    ],
    [
      'computed-table',
      (g) => {
        const ids = g.input('input_ids', DataType.INT64, ['b', 's']);
        const scaleIn = g.input('s', DataType.FLOAT, []);
        g.output('logits', DataType.FLOAT, ['b', 's', hidden]);
        const table = g.op('Mul', [g.float([vocab, hidden], new Float32Array(vocab * hidden)), scaleIn]);
        g.op('Gather', [table, ids], {}, 'logits');
      },
      /the embedding lookup Gather node n_Gather_\d+ reads its table from Mul node n_Mul_\d+; pmg reads a float initializer, or an int8\/uint8 one through DequantizeLinear/,
    ],
    [
      'no-layers',
      (g) => {
        const ids = g.input('input_ids', DataType.INT64, ['b', 's']);
        g.output('logits', DataType.FLOAT, ['b', 's', vocab]);
        const x = g.op('Gather', [g.float([vocab, hidden], new Float32Array(vocab * hidden)), ids]);
        g.op('MatMul', [x, g.float([hidden, vocab], new Float32Array(vocab * hidden))], {}, 'logits');
      },
      /the LM head MatMul node n_MatMul_\d+ reads the embedding lookup directly; the graph has no decoder layers/,
    ],
    [
      'head-without-norm',
      (g) => {
        const ids = g.input('input_ids', DataType.INT64, ['b', 's']);
        g.output('logits', DataType.FLOAT, ['b', 's', vocab]);
        const x = g.op('Gather', [g.float([vocab, hidden], new Float32Array(vocab * hidden)), ids]);
        const h = g.op('Relu', [x]);
        g.op('MatMul', [h, g.float([hidden, vocab], new Float32Array(vocab * hidden))], {}, 'logits');
      },
      /the LM head MatMul node n_MatMul_\d+ reads relu_\d+, which is not the output of a final RMSNorm\/LayerNorm \(it comes from Relu node n_Relu_\d+\)/,
    ],
    [
      'no-logits',
      (g) => {
        const ids = g.input('input_ids', DataType.INT64, ['b', 's']);
        g.output('scores', DataType.FLOAT, ['b', 's', hidden]);
        g.op('Gather', [g.float([vocab, hidden], new Float32Array(vocab * hidden)), ids], {}, 'scores');
      },
      /it has neither a last_hidden_state nor a logits output, so pmg cannot find the final hidden states/,
    ],
  ];
  for (const [name, build, message] of cases) {
    const source = writeGraphFolder(name, build);
    const out = join(root, `${name}-out`);
    await assert.rejects(
      prepareSoft(source, out),
      (error: unknown) =>
        error instanceof PmgError &&
        error.code === 'model-layout' &&
        message.test(error.message) &&
        error.message.startsWith(`cannot make an LLM body of ${source} (onnx/model.onnx): `) &&
        !error.message.includes('\n'),
      name,
    );
    assert.equal(existsSync(out), false, `${name}: nothing written`);
    assert.deepEqual(
      readdirSync(root).filter((entry) => entry.includes('.tmp-')),
      [],
      `${name}: no temporary left`,
    );
  }
});

test('other refusals: missing files, a table that is not [vocab_size, hidden_size], an --out that exists, an unknown dtype', async () => {
  await assert.rejects(prepareSoft(join(root, 'builder'), join(root, 'x1')), /text-generation export folder .*builder lacks config\.json/);
  await assert.rejects(prepareSoft(join(root, 'llm'), join(root, 'x2'), { dtype: 'q8' }), /lacks onnx\/model_quantized\.onnx/);
  const lying = join(root, 'lying-config');
  await writeTinyLlm(lying);
  writeFileSync(join(lying, 'config.json'), JSON.stringify({ ...tinyLlmConfigJson(), vocab_size: 1000 }));
  await assert.rejects(prepareSoft(lying, join(root, 'x3')), /its embedding table is \[\d+, 64\] but config\.json says vocab_size 1000, hidden_size 64/);
  const fewerLayers = join(root, 'fewer-layers');
  await writeTinyLlm(fewerLayers);
  writeFileSync(join(fewerLayers, 'config.json'), JSON.stringify({ ...tinyLlmConfigJson(), num_hidden_layers: 3 }));
  await assert.rejects(prepareSoft(fewerLayers, join(root, 'x4')), /it has no input past_key_values\.2\.key; config\.json says 3 layers/);
  mkdirSync(join(root, 'taken'), { recursive: true });
  writeFileSync(join(root, 'taken', 'file'), 'x');
  await assert.rejects(
    prepareSoft(join(root, 'llm'), join(root, 'taken')),
    (error: unknown) =>
      error instanceof PmgError && error.code === 'invalid-argument' && /^out: .*taken already exists; remove it or choose another folder/.test(error.message),
  );
  await assert.rejects(prepareSoft(join(root, 'llm'), join(root, 'x5'), { dtype: 'q9' as 'q8' }), /dtype 'q9' is not one of fp32, fp16, q8/);
  for (const name of ['x1', 'x2', 'x3', 'x4', 'x5']) assert.equal(existsSync(join(root, name)), false);
});

test('a failing check removes the finished folder; --table-only completes a builder export that lacks its table', async () => {
  await assert.rejects(
    prepareSoft(join(root, 'llm'), join(root, 'checked'), {
      check: async (dir) => {
        assert.ok(existsSync(join(dir, 'model.onnx')));
        throw new PmgError('model-layout', 'check failed');
      },
    }),
    /check failed/,
  );
  assert.equal(existsSync(join(root, 'checked')), false);

  const exported = join(root, 'builder-without-table');
  await writeTinyLlmBody(exported, 'gqa');
  await rm(join(exported, 'embed_tokens.safetensors'));
  await assert.rejects(loadLlmBody(exported), /lacks its embedding table/);
  const prepared = await prepareSoft(join(root, 'llm'), exported, { tableOnly: true });
  assert.deepEqual(
    prepared.files.map((f) => f.path),
    ['embed_tokens.safetensors'],
  );
  const body = await loadLlmBody(exported);
  assert.equal(body.fingerprint, builder.fingerprint);
  await assert.rejects(prepareSoft(join(root, 'llm'), exported, { tableOnly: true }), /embed_tokens\.safetensors already exists/);
});

test('a hub repo id is pulled with the files prepare-soft needs', async () => {
  const server = await HubServer.start();
  try {
    await server.addFolder('tiny/llm', join(root, 'llm'));
    await writeTinyLlmVariant(join(root, 'hub-q8'), { embedding: 'int8-gather-dequantize', externalData: true });
    await server.addFolder('tiny/llm-q8', join(root, 'hub-q8'));
    const store = new ModelStore({ cacheDir: join(root, 'cache'), endpoint: server.url, offline: false, retryDelayMs: 1 });
    const prepared = await prepareSoft('tiny/llm', join(root, 'from-hub'), { store });
    assert.match(prepared.source.id, /^tiny\/llm@[0-9a-f]{40}$/);
    assert.equal((await loadLlmBody(join(root, 'from-hub'))).fingerprint, builder.fingerprint);
    const q8 = await prepareSoft('tiny/llm-q8', join(root, 'from-hub-q8'), { store, dtype: 'q8' });
    assert.deepEqual(
      q8.externalData.map((d) => d.file),
      ['model_quantized.onnx_data'],
    );
    await server.addFolder('tiny/llm-q8-body', join(root, 'from-hub-q8'));
    const body = await loadLlmBody('tiny/llm-q8-body', { store });
    assert.ok(maxAbsDifference((await body.forward(body.embed(IDS))).data, await bodyHidden(join(root, 'from-hub-q8'))) === 0);
  } finally {
    await server.close();
  }
});
