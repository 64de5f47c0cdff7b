/**
 * Attention fusion against onnxruntime itself: each exported attention style is written as a small graph, fused,
 * and both graphs are run on the same inputs; the fused one must have no Softmax left and give the same output.
 * Then the reduced-width SD 1.5 UNet and VAE (the real-architecture writers) go through the copies loader.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { SeededRandom } from '../core/random.js';
import { attr, DataType, GraphBuilder } from '../fixtures/onnx-graph.js';
import { SD15_REDUCED_ARCHITECTURE, writeRealScaleSd } from '../fixtures/real-scale-sd.js';
import { loadStableDiffusion } from '../providers/image/onnx-stable-diffusion.js';
import { textToImage } from '../pipeline/text-to-image.js';
import { ensureFusedCopy, freshFusedCopy, fusedCopyPath } from './attention-copies.js';
import { fuseAttention } from './onnx-attention-fusion.js';
import { OnnxSession, SessionPool } from './onnx-session.js';

const { onnx } = onnxProto;
const root = mkdtempSync(join(tmpdir(), 'pmg-attention-fusion-'));
after(() => rmSync(root, { recursive: true, force: true }));

const B = 2;
const N = 6; // query positions
const T = 5; // key positions (cross-attention when != N)
const HEADS = 2;
const HEAD_DIM = 4;
const C = HEADS * HEAD_DIM;

type Style = 'scale-after' | 'scale-on-q-and-k' | 'torch-sdpa' | 'keys-0231' | 'masked';

/** Attention of [B,N,C] queries over [B,T,C] keys/values in one exported style; shapes traced (Concat) or constant. */
function attentionGraph(style: Style, traced: boolean): Uint8Array {
  const g = new GraphBuilder('attention');
  const q3 = g.input('q', DataType.FLOAT, [B, N, C]);
  const k3 = g.input('k', DataType.FLOAT, [B, T, C]);
  const v3 = g.input('v', DataType.FLOAT, [B, T, C]);
  const headShape = (): string =>
    traced
      ? g.op('Concat', [g.op('Slice', [g.op('Shape', [q3]), g.int64([0]), g.int64([1])]), g.int64([-1, HEADS, HEAD_DIM])], { axis: attr.int(0) })
      : g.int64([0, 0, HEADS, HEAD_DIM]);
  const split = (x: string): string => g.op('Transpose', [g.op('Reshape', [x, headShape()])], { perm: attr.ints([0, 2, 1, 3]) });
  const q = split(q3);
  const v = split(v3);
  let scores: string;
  const standard = 1 / Math.sqrt(HEAD_DIM);
  if (style === 'keys-0231') {
    const kT = g.op('Transpose', [g.op('Reshape', [k3, headShape()])], { perm: attr.ints([0, 2, 3, 1]) });
    scores = g.op('Div', [g.op('MatMul', [q, kT]), g.scalarFloat(Math.sqrt(HEAD_DIM))]);
  } else {
    const kT = g.op('Transpose', [split(k3)], { perm: attr.ints([0, 1, 3, 2]) });
    if (style === 'scale-on-q-and-k') {
      scores = g.op('MatMul', [g.op('Mul', [q, g.scalarFloat(0.7)]), g.op('Mul', [kT, g.scalarFloat(0.5)])]);
    } else if (style === 'torch-sdpa') {
      // torch's export: scale = 1/sqrt(last dim of q), computed from shapes; Q and Kᵀ each times Sqrt(scale).
      const lastDim = g.op('Cast', [g.op('Slice', [g.op('Shape', [q]), g.int64([-1]), g.int64([1000])])], { to: attr.int(DataType.FLOAT) });
      const scale = g.op('Div', [g.scalarFloat(1), g.op('Sqrt', [lastDim])]);
      const root = g.op('Sqrt', [scale]);
      scores = g.op('MatMul', [g.op('Mul', [q, root]), g.op('Mul', [kT, root])]);
    } else {
      scores = g.op('Mul', [g.op('MatMul', [q, kT]), g.scalarFloat(standard)]);
      if (style === 'masked') scores = g.op('Add', [scores, g.float([1, 1, 1, T], [0, -1e4, 0, 0, -1e4])]);
    }
  }
  const weights = g.op('Softmax', [scores], { axis: attr.int(-1) });
  const merged = g.op('Transpose', [g.op('MatMul', [weights, v])], { perm: attr.ints([0, 2, 1, 3]) });
  const outShape = traced
    ? g.op('Concat', [g.op('Slice', [g.op('Shape', [q3]), g.int64([0]), g.int64([1])]), g.int64([-1, C])], { axis: attr.int(0) })
    : g.int64([0, 0, C]);
  g.op('Reshape', [merged, outShape], {}, 'out');
  g.output('out', DataType.FLOAT, [B, N, C]);
  return g.toBytes({ opset: 17 });
}

function random(dims: number[], seed: number): Float32Array {
  return new SeededRandom(seed).fillGaussian(new Float32Array(dims.reduce((a, b) => a * b, 1)));
}

async function run(bytes: Uint8Array, name: string): Promise<Float32Array> {
  const path = join(root, `${name}.onnx`);
  writeFileSync(path, bytes);
  const session = await OnnxSession.create(path, { intraOpThreads: 1 });
  try {
    const out = await session.run({
      q: new ort.Tensor('float32', random([B, N, C], 1), [B, N, C]),
      k: new ort.Tensor('float32', random([B, T, C], 2), [B, T, C]),
      v: new ort.Tensor('float32', random([B, T, C], 3), [B, T, C]),
    });
    return Float32Array.from(out.out!.data as Float32Array);
  } finally {
    await session.release();
  }
}

function fused(bytes: Uint8Array): { bytes: Uint8Array; ops: string[]; result: ReturnType<typeof fuseAttention>; scale?: number } {
  const model = onnx.ModelProto.decode(bytes);
  const result = fuseAttention(model);
  const ops = (model.graph?.node ?? []).map((n) => n.opType ?? '');
  const scale = model.graph?.node?.find((n) => n.opType === 'MultiHeadAttention')?.attribute?.find((a) => a.name === 'scale')?.f ?? undefined;
  return { bytes: onnx.ModelProto.encode(model).finish(), ops, result, ...(scale !== undefined && scale !== null ? { scale } : {}) };
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
}

for (const style of ['scale-after', 'scale-on-q-and-k', 'torch-sdpa', 'keys-0231'] as const) {
  for (const traced of [false, true]) {
    test(`attention exported as '${style}' (${traced ? 'traced' : 'constant'} shapes) fuses into MultiHeadAttention with the same output`, async () => {
      const original = attentionGraph(style, traced);
      const f = fused(original);
      assert.deepEqual(f.result, { fused: 1, unmatched: 0 });
      assert.ok(f.ops.includes('MultiHeadAttention'));
      assert.ok(!f.ops.includes('Softmax') && !f.ops.includes('MatMul'), `left: ${f.ops.join(', ')}`);
      if (style === 'scale-on-q-and-k') assert.ok(Math.abs(f.scale! - 0.35) < 1e-7, 'the constant factors fold into one scale');
      else assert.equal(f.scale, undefined, 'the standard 1/sqrt(headDim) is the kernel default');
      const [expected, actual] = [await run(original, `${style}-${traced}-a`), await run(f.bytes, `${style}-${traced}-b`)];
      assert.ok(maxDifference(expected, actual) < 1e-5, `max difference ${maxDifference(expected, actual)}`);
    });
  }
}

test('masked attention is left as exported', () => {
  const f = fused(attentionGraph('masked', false));
  assert.deepEqual(f.result, { fused: 0, unmatched: 1 });
  assert.ok(f.ops.includes('Softmax'));
});

test('the reduced SD 1.5 UNet and VAE get fused copies that load through the pipeline and give the same images', async () => {
  const dir = join(root, 'sd');
  writeRealScaleSd(dir, { architecture: SD15_REDUCED_ARCHITECTURE });
  const unet = join(dir, 'unet', 'model.onnx');
  const result = ensureFusedCopy(unet);
  assert.equal(result.status, 'fused');
  assert.equal(result.fusion!.unmatched, 0);
  assert.ok(result.fusion!.fused >= 10, `${result.fusion!.fused} blocks`);
  assert.equal(ensureFusedCopy(unet).status, 'kept', 'made once');
  assert.equal(freshFusedCopy(unet), fusedCopyPath(unet));
  assert.ok(readFileSync(fusedCopyPath(unet)).length < readFileSync(unet).length + 4096, 'the copy shares the external weights');
  assert.equal(ensureFusedCopy(join(dir, 'vae_decoder', 'model.onnx')).status, 'fused');
  assert.equal(ensureFusedCopy(join(dir, 'text_encoder', 'model.onnx')).status, 'none', 'causal masked attention stays');
  assert.equal(ensureFusedCopy(join(dir, 'text_encoder', 'model.onnx')).status, 'none', 'and is not read again');

  const request = { candidates: [{ prompt: 'a red fox' }], steps: 2, width: 64, height: 64, seed: 4, warn: () => undefined };
  const exported = await loadStableDiffusion(dir, { pool: new SessionPool(), fuseAttention: false });
  const withFusion = await loadStableDiffusion(dir, { pool: new SessionPool() });
  assert.ok(withFusion.sessions.unet.path.endsWith('model.fused.onnx'));
  assert.ok(exported.sessions.unet.path.endsWith('model.onnx') && !exported.sessions.unet.path.endsWith('fused.onnx'));
  const [a, b] = [await textToImage(exported, request), await textToImage(withFusion, request)];
  assert.ok(maxDifference(a.images.data as Float32Array, b.images.data as Float32Array) < 1e-3);
});
