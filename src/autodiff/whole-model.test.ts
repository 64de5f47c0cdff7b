/**
 * Whole-model gradients against central finite differences: the fixture UNet (grads for sample and
 * encoder_hidden_states; float32, as onnxruntime has no double Conv: step 1e-2, tolerance 5e-3, see the comment at
 * the check) and the fixture LLM body (inputs_embeds and every past_key_values.*; a float64 copy, tolerance 1e-6),
 * the MSE head, and the refusals.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { writeTinyLlmBody } from '../fixtures/tiny-llm-body.js';
import { writeTinySd } from '../fixtures/tiny-sd.js';
import { DataType, GraphBuilder } from '../fixtures/onnx-graph.js';
import { PmgError } from '../errors/pmg-error.js';
import { buildGradientModel } from './build-gradient-model.js';
import { checkGradient } from './testing/gradient-check.js';
import { float64Model } from './testing/float64-model.js';

let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pmg-autodiff-'));
  writeTinySd(join(dir, 'sd'));
  await writeTinyLlmBody(join(dir, 'llm-body'), 'standard');
  await writeTinyLlmBody(join(dir, 'llm-body-gqa'), 'gqa');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const PAST = ['past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value'];

function bodyInputs(): Record<string, { dims: number[]; data?: BigInt64Array; scale?: number }> {
  const inputs: Record<string, { dims: number[]; data?: BigInt64Array; scale?: number }> = {
    inputs_embeds: { dims: [1, 3, 64] },
    // One masked position: the attention mask's Where is on the path.
    attention_mask: { dims: [1, 5], data: BigInt64Array.from([1n, 0n, 1n, 1n, 1n]) },
  };
  for (const name of PAST) inputs[name] = { dims: [1, 2, 2, 16] };
  return inputs;
}

test('fixture UNet: gradients for sample and encoder_hidden_states match finite differences (float32)', async () => {
  const model = readFileSync(join(dir, 'sd', 'unet', 'model.onnx'));
  const result = await checkGradient(model, {
    wrt: ['sample', 'encoder_hidden_states'],
    output: 'out_sample',
    dtype: 'float32',
    coords: 10,
    inputs: { sample: { dims: [1, 4, 8, 8] }, timestep: { dims: [1], data: BigInt64Array.of(500n) }, encoder_hidden_states: { dims: [1, 3, 768] } },
  });
  // float32 differences with h = 1e-2: truncation O(h²) and rounding of a 256-term sum over 2h; measured 1.1e-4 to
  // 3.2e-4 of the gradient's scale with seeds 1-3, so 5e-3 leaves room and still fails on any wrong rule.
  assert.ok(result.maxError < 5e-3, `max relative error ${result.maxError}: ${JSON.stringify(result.pairs.slice(0, 3))}`);
  assert.ok(result.pairs.filter((p) => p.input === 'encoder_hidden_states').some((p) => Math.abs(p.numeric) > 1e-4));
});

test('fixture LLM body: gradients for inputs_embeds and every past_key_values.* match finite differences (float64 copy)', async () => {
  const model = float64Model(readFileSync(join(dir, 'llm-body', 'model.onnx')));
  const result = await checkGradient(model, { wrt: ['inputs_embeds', ...PAST], output: 'hidden_states', dtype: 'float64', coords: 8, inputs: bodyInputs() });
  assert.ok(result.maxError < 1e-6, `max relative error ${result.maxError}: ${JSON.stringify(result.pairs.slice(0, 3))}`);
  for (const name of PAST)
    assert.ok(
      result.pairs.some((p) => p.input === name && Math.abs(p.numeric) > 1e-6),
      `${name}: no non-zero gradient checked`,
    );
});

test('MSE head: the loss is the mean squared error and its gradients match finite differences of the loss', async () => {
  const model = float64Model(readFileSync(join(dir, 'llm-body', 'model.onnx')));
  const result = await checkGradient(model, {
    wrt: ['inputs_embeds', 'past_key_values.1.value'],
    output: 'hidden_states',
    dtype: 'float64',
    head: 'mse',
    coords: 8,
    inputs: bodyInputs(),
    seed: 3,
  });
  assert.ok(result.maxError < 1e-6, `max relative error ${result.maxError}`);
  assert.ok(result.loss !== undefined && result.loss > 0);
  assert.ok(Number.isFinite(result.loss));
});

test('MSE head: loss equals a JS mean squared error of the output against the target', async () => {
  const b = new GraphBuilder('mse');
  b.input('x', DataType.FLOAT, [2, 3]);
  b.output(b.op('Tanh', ['x'], {}, 'y'), DataType.FLOAT, [2, 3]);
  const { ort } = await import('../runtime/onnx-session.js');
  const session = await ort.InferenceSession.create(buildGradientModel(b.toBytes(), { wrt: ['x'], output: 'y', head: 'mse' }));
  const x = Float32Array.from([0.1, -0.5, 0.9, 2, -1, 0.3]);
  const target = Float32Array.from([0, 0.2, 0.5, 1, -1, 0]);
  const out = await session.run({ x: new ort.Tensor('float32', x, [2, 3]), y_target: new ort.Tensor('float32', target, [2, 3]) });
  const expected = [...x].reduce((sum, v, i) => sum + (Math.tanh(v) - target[i]!) ** 2, 0) / 6;
  assert.ok(Math.abs(Number(out['loss']!.data[0]) - expected) < 1e-6, `loss ${out['loss']!.data[0]} vs ${expected}`);
  const grad = out['grad_x']!.data as Float32Array;
  x.forEach((v, i) => assert.ok(Math.abs(grad[i]! - ((2 * (Math.tanh(v) - target[i]!)) / 6) * (1 - Math.tanh(v) ** 2)) < 1e-6));
  await session.release();
});

function refusal(model: Uint8Array | string, options: Parameters<typeof buildGradientModel>[1]): PmgError {
  try {
    buildGradientModel(model, options);
  } catch (error) {
    assert.ok(error instanceof PmgError, String(error));
    assert.ok(!error.message.includes('\n'), 'one line');
    return error;
  }
  assert.fail('no error');
}

test('refusals: contrib ops on the path, ops without a rule (one error listing them), bad wrt and output', () => {
  const gqa = refusal(join(dir, 'llm-body-gqa', 'model.onnx'), { wrt: ['inputs_embeds'], output: 'hidden_states', head: 'cotangent' });
  assert.equal(gqa.code, 'unsupported');
  assert.match(gqa.message, /contrib ops on the differentiated path \(com\.microsoft\.GroupQueryAttention: GroupQueryAttention node .*standard ONNX ops/);

  const b = new GraphBuilder('norule');
  b.input('x', DataType.FLOAT, [3]);
  b.output(b.op('Add', [b.op('Cos', ['x']), b.op('Atan', [b.op('Cos', ['x'])])], {}, 'y'), DataType.FLOAT, [3]);
  const noRule = refusal(b.toBytes(), { wrt: ['x'], output: 'y', head: 'cotangent' });
  assert.match(noRule.message, /no gradient rule for Atan, Cos \(/);
  assert.match(noRule.message, /Cos node n_Cos_\d+; Cos node n_Cos_\d+; Atan node/);

  const old = new GraphBuilder('old');
  old.input('x', DataType.FLOAT, [3]);
  old.output(old.op('Tanh', ['x'], {}, 'y'), DataType.FLOAT, [3]);
  assert.match(
    refusal(old.toBytes({ opset: 12 }), { wrt: ['x'], output: 'y', head: 'cotangent' }).message,
    /its opset is 12; pmg builds gradient graphs of opset 13 or later/,
  );

  const unet = join(dir, 'sd', 'unet', 'model.onnx');
  assert.match(
    refusal(unet, { wrt: ['latents'], output: 'out_sample', head: 'cotangent' }).message,
    /no input 'latents' to differentiate \(inputs: sample, timestep, encoder_hidden_states\)/,
  );
  assert.match(refusal(unet, { wrt: ['timestep'], output: 'out_sample', head: 'cotangent' }).message, /input 'timestep' is not a float tensor/);
  assert.match(refusal(unet, { wrt: ['sample'], output: 'noise', head: 'cotangent' }).message, /no output 'noise'/);
  assert.match(
    refusal(unet, { wrt: ['sample'], output: 'out_sample', head: 'cotangent', checkpointSegments: 0 }).message,
    /checkpointSegments must be a whole number/,
  );
  assert.match(
    refusal(unet, { wrt: ['sample'], output: 'out_sample', head: 'cotangent', checkpointSegments: 1.5 }).message,
    /checkpointSegments must be a whole number ≥ 1, got 1\.5/,
  );
});

test('the timestep embedding is pruned: no backward node reads the timestep branch', () => {
  const bytes = buildGradientModel(join(dir, 'sd', 'unet', 'model.onnx'), { wrt: ['encoder_hidden_states'], output: 'out_sample', head: 'cotangent' });
  const text = Buffer.from(bytes).toString('latin1');
  assert.ok(text.includes('grad_encoder_hidden_states'));
  for (const op of ['Sin', 'Cos']) assert.ok(!/grad__n_(Sin|Cos)/.test(text), `a backward ${op}`);
});

for (const [label, file, wrt, output, feeds] of [
  [
    'fixture UNet',
    join('sd', 'unet', 'model.onnx'),
    ['sample', 'encoder_hidden_states'],
    'out_sample',
    { sample: [1, 4, 8, 8], timestep: 'int', encoder_hidden_states: [1, 3, 768] },
  ],
  [
    'fixture LLM body',
    join('llm-body', 'model.onnx'),
    ['inputs_embeds', ...PAST],
    'hidden_states',
    { inputs_embeds: [1, 3, 64], attention_mask: 'mask', ...Object.fromEntries(PAST.map((p) => [p, [1, 2, 2, 16]])) },
  ],
] as const) {
  test(`checkpointSegments: ${label} recomputed in 3 segments gives the gradients of the plain graph`, async () => {
    const { ort } = await import('../runtime/onnx-session.js');
    const inputs: Record<string, InstanceType<typeof ort.Tensor>> = {};
    let seed = 1;
    for (const [name, dims] of Object.entries(feeds)) {
      if (dims === 'int') inputs[name] = new ort.Tensor('int64', BigInt64Array.of(500n), [1]);
      else if (dims === 'mask') inputs[name] = new ort.Tensor('int64', BigInt64Array.from([1n, 0n, 1n, 1n, 1n]), [1, 5]);
      else
        inputs[name] = new ort.Tensor(
          'float32',
          Float32Array.from({ length: (dims as readonly number[]).reduce((a: number, b: number) => a * b, 1) }, (_, i) => Math.sin(i * 0.37 + seed++)),
          [...dims],
        );
    }
    const runs: Record<string, Float32Array>[] = [];
    let nodes: number[] = [];
    for (const checkpointSegments of [1, 3]) {
      const bytes = buildGradientModel(join(dir, file), { wrt: [...wrt], output, head: 'cotangent', checkpointSegments });
      nodes.push(onnxNodes(bytes));
      const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
      const cotangentDims = output === 'out_sample' ? [1, 4, 8, 8] : [1, 3, 64];
      const cotangent = new ort.Tensor(
        'float32',
        Float32Array.from({ length: cotangentDims.reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(i * 0.11)),
        cotangentDims,
      );
      const out = await session.run({ ...inputs, [`grad_${output}`]: cotangent });
      runs.push(Object.fromEntries(wrt.map((w) => [w, out[`grad_${w.replace(/[^A-Za-z0-9_]/g, '_')}`]!.data as Float32Array])));
      await session.release();
    }
    assert.ok(nodes[1]! > nodes[0]!, `the recomputing graph has the copies (${nodes.join(' vs ')} nodes)`);
    for (const w of wrt) {
      const [plain, recomputed] = [runs[0]![w]!, runs[1]![w]!];
      const scale = Math.max(...plain.map(Math.abs));
      assert.ok(scale > 0);
      assert.ok(
        plain.every((v, i) => Math.abs(v - recomputed[i]!) <= 1e-6 * scale),
        `${w}: recomputed gradients differ`,
      );
    }
  });
}

function onnxNodes(bytes: Uint8Array): number {
  return onnxProto.onnx.ModelProto.decode(bytes).graph!.node!.length;
}
