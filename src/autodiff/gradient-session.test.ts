import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { DataType, GraphBuilder } from '../fixtures/onnx-graph.js';
import { writeTinySd } from '../fixtures/tiny-sd.js';
import { uniformFill } from '../fixtures/weight-fill.js';
import { SessionPool } from '../runtime/onnx-session.js';
import { openGradientSession } from './gradient-session.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pmg-gradient-session-'));
  writeTinySd(join(dir, 'sd'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const ramp = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * scale);

/** x [2, 8] → Tanh(x · W1) · W2 with both weights generated lazily (external data when `external`). */
function mlp(path: string, external: boolean): void {
  const b = new GraphBuilder('mlp');
  b.input('x', DataType.FLOAT, ['batch', 8]);
  const w1 = b.lazyFloat([8, 16], uniformFill(3, 0.5));
  const w2 = b.lazyFloat([16, 4], uniformFill(4, 0.5));
  b.output(b.op('MatMul', [b.op('Tanh', [b.op('MatMul', ['x', w1])]), w2], {}, 'y'), DataType.FLOAT, ['batch', 4]);
  b.writeModel(path, external ? { externalData: { file: 'model.onnx_data' } } : {});
}

test('openGradientSession: the MSE head on the fixture UNet returns the output, the loss and one gradient per input', async () => {
  const session = await openGradientSession(join(dir, 'sd', 'unet', 'model.onnx'), {
    wrt: ['encoder_hidden_states', 'sample'],
    output: 'out_sample',
    head: 'mse',
    threads: 1,
  });
  const run = await session.run(
    {
      sample: { data: ramp(4 * 64, 1), dims: [1, 4, 8, 8] },
      timestep: { data: BigInt64Array.of(10n), dims: [1] },
      encoder_hidden_states: { data: ramp(3 * 768, 0.5), dims: [1, 3, 768] },
    },
    { target: { data: ramp(4 * 64, 0.3), dims: [1, 4, 8, 8] } },
  );
  assert.deepEqual(run.output.dims, [1, 4, 8, 8]);
  const expected = run.output.data.reduce((sum, v, i) => sum + (v - Math.sin(i * 0.37) * 0.3) ** 2, 0) / run.output.data.length;
  assert.ok(Math.abs(run.loss! - expected) < 1e-5 * expected, `loss ${run.loss} vs ${expected}`);
  assert.deepEqual(run.grads['encoder_hidden_states']!.dims, [1, 3, 768]);
  assert.deepEqual(run.grads['sample']!.dims, [1, 4, 8, 8]);
  assert.ok(run.grads['encoder_hidden_states']!.data.some((v) => v !== 0));
  await assert.rejects(session.run({}, { cotangent: run.output }), (e: unknown) => e instanceof PmgError && /head is 'mse': give \{ target \}/.test(e.message));
  await session.close();
});

test('openGradientSession: weights in external data load, and give the same gradients as inline weights; nothing is left in the temp folder', async () => {
  const before = readdirSync(tmpdir()).filter((f) => f.startsWith('pmg-gradient-')).length;
  const results: Float32Array[] = [];
  for (const external of [false, true]) {
    const folder = join(dir, external ? 'external' : 'inline');
    rmSync(folder, { recursive: true, force: true });
    (await import('node:fs')).mkdirSync(folder);
    mlp(join(folder, 'model.onnx'), external);
    assert.equal(readdirSync(folder).includes('model.onnx_data'), external);
    const pool = new SessionPool({ intraOpThreads: 1 });
    const session = await openGradientSession(join(folder, 'model.onnx'), { wrt: ['x'], output: 'y', head: 'cotangent', pool });
    const run = await session.run({ x: { data: ramp(16, 1), dims: [2, 8] } }, { cotangent: { data: ramp(8, 1), dims: [2, 4] } });
    results.push(run.grads['x']!.data);
    await session.close();
    await pool.releaseAll();
    assert.deepEqual(readdirSync(folder).sort(), external ? ['model.onnx', 'model.onnx_data'] : ['model.onnx'], 'nothing written beside the model');
  }
  assert.deepEqual(results[1], results[0]);
  assert.ok(results[0]!.some((v) => v !== 0));
  assert.equal(readdirSync(tmpdir()).filter((f) => f.startsWith('pmg-gradient-')).length, before);
});

test('openGradientSession: a missing model file is one file-not-found error', async () => {
  await assert.rejects(
    openGradientSession(join(dir, 'nope.onnx'), { wrt: ['x'], output: 'y', head: 'cotangent' }),
    (e: unknown) => e instanceof PmgError && e.code === 'file-not-found' && /nope\.onnx does not exist/.test(e.message),
  );
});
