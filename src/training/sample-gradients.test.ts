/**
 * The full variant's parameter gradients (prefix table or its MLP, multimodal tokens, map: UNet and LLM body gradient
 * graphs plus the JS backward of soft-parameters.ts / map-gradient.ts) against central finite differences of the
 * sample's loss, each loss a plain forward pass (LLM body, map, UNet) with the same draws. float32 throughout (the
 * UNet has no double Conv kernel in onnxruntime), so the check is relative to each parameter's gradient scale.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openGradientSession } from '../autodiff/gradient-session.js';
import { SeededRandom } from '../core/random.js';
import { writeTinyLlmBody } from '../fixtures/tiny-llm-body.js';
import { writeTinySd } from '../fixtures/tiny-sd.js';
import { encodePrompt } from '../pipeline/prompt-encoding.js';
import { loadStableDiffusion } from '../providers/image/onnx-stable-diffusion.js';
import { loadLlmBody } from '../runtime/llm-body.js';
import { SessionPool } from '../runtime/onnx-session.js';
import { initSoftModule } from '../soft/soft-init.js';
import { trainNoiseSchedule } from './noising.js';
import { addSampleGradients, drawFor, openTrainSessions, sampleLoss, timestepFeed, type LossContext, type PreparedSample } from './sample-gradients.js';
import { trainableParams, zeroGradients, type Params } from './soft-parameters.js';

let root: string;
const pool = new SessionPool();
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-sample-grad-'));
  writeTinySd(join(root, 'sd'));
  await writeTinyLlmBody(join(root, 'llm-body'), 'standard');
});
after(async () => {
  await pool.releaseAll();
  rmSync(root, { recursive: true, force: true });
});

async function setup(mlp: boolean): Promise<{ context: LossContext; sample: PreparedSample; unetPath: string }> {
  const body = await loadLlmBody(join(root, 'llm-body'), { pool, threads: 1 });
  const model = await loadStableDiffusion(join(root, 'sd'), { pool, threads: 1, fuseAttention: false });
  const module = initSoftModule({ body, condWidth: 768, scene: 'movie', templateVersion: '1', P: 2, N: 2, seed: 5, mlp, ...(mlp ? { prefixHidden: 8 } : {}) });
  // A map with some weight, so the gradient reaches the LLM body (init may start it small).
  const random = new SeededRandom(9);
  module.tensors.mapWeight = random.fillGaussian(new Float32Array(module.tensors.mapWeight.length)).map((v) => v * 0.2);
  const sample: PreparedSample = {
    id: 's',
    targetStates: await encodePrompt(model.textEncoder, 'a poster'),
    promptEmbeds: body.embed(body.tokenize('films: Heat, Alien')).data,
    posterior: { mean: random.fillGaussian(new Float32Array(4 * 8 * 8)), dims: [4, 8, 8] },
  };
  const context: LossContext = {
    shape: module.config,
    tensors: module.tensors,
    unet: model.unet,
    noise: trainNoiseSchedule(model.schedulerConfig),
    scalingFactor: 1,
    body,
  };
  return { context, sample, unetPath: join(root, 'sd', 'unet', 'model.onnx') };
}

async function check(mlp: boolean): Promise<void> {
  const { context, sample, unetPath } = await setup(mlp);
  const params = trainableParams(context.tensors, { prefix: true, tokens: true });
  assert.deepEqual(
    Object.keys(params).sort(),
    mlp
      ? ['map.bias', 'map.weight', 'mlp.bias0', 'mlp.bias2', 'mlp.embedding', 'mlp.weight0', 'mlp.weight2', 'tokens']
      : ['map.bias', 'map.weight', 'prefix', 'tokens'],
  );
  const draw = drawFor(context, sample, 11);
  const sessions = await openTrainSessions(context, unetPath, params, (path, options) => openGradientSession(path, { ...options, threads: 1, pool }));
  const grads = zeroGradients(params);
  const loss = await addSampleGradients(context, sessions, sample, draw, params, grads, 1);
  await sessions.close();
  const forwardLoss = await sampleLoss(context, sample, draw, params);
  assert.ok(Math.abs(loss - forwardLoss) < 1e-5 * forwardLoss, `gradient run loss ${loss} vs forward ${forwardLoss}`);
  // float32 losses carry a rounding floor of a few 1e-6 in (L+ − L−)/2h at h = 1e-2, as large as the smallest
  // parameters' gradients here (the MLP's); at h = 0.1 every checked coordinate agreed within 0.9% of its parameter's
  // gradient scale (measured), so 3% still fails on any wrong layout or rule (errors of order 100%).
  const h = 0.1;
  for (const [name, grad] of Object.entries(grads)) {
    const scale = grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(scale > 0, `${name}: all gradients are 0`);
    // The three largest coordinates and two others.
    const order = [...grad.keys()].sort((a, b) => Math.abs(grad[b]!) - Math.abs(grad[a]!));
    for (const i of [...order.slice(0, 3), order[order.length >> 1]!, order[order.length >> 2]!]) {
      const at = async (delta: number): Promise<number> => {
        const moved: Params = { ...params, [name]: Float32Array.from(params[name]!) };
        moved[name]![i] = moved[name]![i]! + delta;
        return sampleLoss(context, sample, draw, moved);
      };
      const numeric = ((await at(h)) - (await at(-h))) / (2 * h);
      const error = Math.abs(numeric - grad[i]!) / scale;
      assert.ok(error < 3e-2, `${name}[${i}]: gradient ${grad[i]}, finite differences ${numeric} (scale ${scale})`);
    }
  }
}

test('full variant: prefix table, tokens and map gradients match central finite differences of the loss', () => check(false));

test('full variant with the MLP reparameterisation: its five tensors, tokens and map match finite differences', () => check(true));

test('the timestep is fed in the dtype the UNet graph takes (real SD exports: int64 or float32)', () => {
  const unet = (timestepDtype?: string) => ({
    inChannels: 4,
    predict: async () => ({ data: new Float32Array(0), dims: [] }),
    ...(timestepDtype ? { timestepDtype } : {}),
  });
  assert.deepEqual(timestepFeed(unet('float32'), 981).data, Float32Array.of(981));
  assert.deepEqual(timestepFeed(unet('int32'), 7).data, Int32Array.of(7));
  assert.deepEqual(timestepFeed(unet(), 7).data, BigInt64Array.of(7n));
  assert.throws(() => timestepFeed(unet('float16'), 7), /float16 timestep; training needs the fp32 export/);
});
