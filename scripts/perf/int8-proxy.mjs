// int8 dynamic quantization vs fp32 on onnxruntime-node's CPU kernels, on the MatMul and Conv shapes of SD 1.5's UNet
// (PROXY: single ops, not the UNet). Variants per op:
//   fp32     MatMul / Conv
//   qdq      DynamicQuantizeLinear(x) -> MatMulInteger / ConvInteger with int8 (Conv: uint8) weights -> Cast -> Mul
//            (what onnxruntime.quantization.quantize_dynamic writes; ORT fuses the MatMul form at level 'all')
//   fused    com.microsoft DynamicQuantizeMatMul (MatMul only): the fused kernel ORT's optimizer produces
//   node scripts/perf/int8-proxy.mjs [repeats]
import * as ort from 'onnxruntime-node';
import { SeededRandom } from '../../dist/core/random.js';
import { DataType, GraphBuilder, attr } from '../../dist/fixtures/onnx-graph.js';

const repeats = Number(process.argv[2] ?? 5);
const random = new SeededRandom(7);
const gauss = (n, std) => random.fillGaussian(new Float32Array(n), std);

function quantize(w, signed) {
  let max = 0;
  for (const v of w) max = Math.max(max, Math.abs(v));
  const scale = max / 127;
  const q = signed ? new Int8Array(w.length) : new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i] / scale))) + (signed ? 0 : 128);
  return { q, scale, zero: signed ? 0 : 128 };
}

function model(build) {
  const g = new GraphBuilder('int8_proxy');
  build(g);
  return g.toBytes();
}

/** Weights and inputs drawn once per shape, so every variant of a case computes the same product. */
const drawn = new Map();
function once(key, make) {
  if (!drawn.has(key)) drawn.set(key, make());
  return drawn.get(key);
}

function matmulGraph(kind, M, K, N) {
  const { w, x } = once(`mm${M}x${K}x${N}`, () => ({ w: gauss(K * N, 1 / Math.sqrt(K)), x: gauss(M * K, 1) }));
  const bytes = model((g) => {
    const x = g.input('x', DataType.FLOAT, [M, K]);
    g.output('y', DataType.FLOAT, [M, N]);
    if (kind === 'fp32') return void g.op('MatMul', [x, g.float([K, N], w)], {}, 'y');
    const { q, scale } = quantize(w, true);
    const wq = g.initializer('wq', DataType.INT8, [K, N], new Uint8Array(q.buffer));
    const wScale = g.float([], Float32Array.of(scale));
    const wZero = g.initializer('wz', DataType.INT8, [], new Uint8Array(1));
    if (kind === 'fused') {
      g.node('DynamicQuantizeMatMul', [x, wq, wScale, wZero], ['y'], {}, 'com.microsoft');
      return;
    }
    const [xq, xScale, xZero] = g.node('DynamicQuantizeLinear', [x], 3);
    const acc = g.op('MatMulInteger', [xq, wq, xZero, wZero]);
    g.op('Mul', [g.op('Cast', [acc], { to: attr.int(DataType.FLOAT) }), g.op('Mul', [xScale, wScale])], {}, 'y');
  });
  return { bytes, feed: { x: new ort.Tensor('float32', x, [M, K]) }, flops: 2 * M * K * N };
}

function convGraph(kind, C, side) {
  const { w, x } = once(`conv${C}x${side}`, () => ({ w: gauss(C * C * 9, 1 / Math.sqrt(C * 9)), x: gauss(C * side * side, 1) }));
  const conv = { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) };
  const bytes = model((g) => {
    const x = g.input('x', DataType.FLOAT, [1, C, side, side]);
    g.output('y', DataType.FLOAT, [1, C, side, side]);
    if (kind === 'fp32') return void g.op('Conv', [x, g.float([C, C, 3, 3], w)], conv, 'y');
    const { q, scale, zero } = quantize(w, false);
    const wq = g.initializer('wq', DataType.UINT8, [C, C, 3, 3], q);
    const wZero = g.initializer('wz', DataType.UINT8, [], Uint8Array.of(zero));
    const [xq, xScale, xZero] = g.node('DynamicQuantizeLinear', [x], 3);
    const acc = g.op('ConvInteger', [xq, wq, xZero, wZero], conv);
    g.op('Mul', [g.op('Cast', [acc], { to: attr.int(DataType.FLOAT) }), g.op('Mul', [xScale, g.float([], Float32Array.of(scale))])], {}, 'y');
  });
  return { bytes, feed: { x: new ort.Tensor('float32', x, [1, C, side, side]) }, flops: 2 * C * C * 9 * side * side };
}

async function time({ bytes, feed, flops }) {
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 2,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    enableMemPattern: false,
  });
  const times = [];
  let out;
  for (let i = 0; i < repeats + 1; i++) {
    const t = performance.now();
    out = Float32Array.from((await session.run(feed)).y.data);
    if (i > 0) times.push(performance.now() - t);
  }
  await session.release();
  const min = Math.min(...times);
  return { ms: min, gflops: flops / min / 1e6, out };
}

const rel = (a, b) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
};

const cases = [
  ['MatMul 4096x320 @ 320x320 (attention projections, 64x64)', (k) => matmulGraph(k, 4096, 320, 320), ['fp32', 'qdq', 'fused']],
  ['MatMul 4096x320 @ 320x2560 (GEGLU in, 64x64)', (k) => matmulGraph(k, 4096, 320, 2560), ['fp32', 'qdq', 'fused']],
  ['MatMul 4096x1280 @ 1280x320 (GEGLU out, 64x64)', (k) => matmulGraph(k, 4096, 1280, 320), ['fp32', 'qdq', 'fused']],
  ['MatMul 256x1280 @ 1280x1280 (16x16 level)', (k) => matmulGraph(k, 256, 1280, 1280), ['fp32', 'qdq', 'fused']],
  ['Conv 3x3 320->320 at 64x64', (k) => convGraph(k, 320, 64), ['fp32', 'qdq']],
  ['Conv 3x3 640->640 at 32x32', (k) => convGraph(k, 640, 32), ['fp32', 'qdq']],
  ['Conv 3x3 1280->1280 at 16x16', (k) => convGraph(k, 1280, 16), ['fp32', 'qdq']],
];

for (const [name, make, kinds] of cases) {
  const results = {};
  for (const kind of kinds) results[kind] = await time(make(kind));
  const base = results.fp32;
  const parts = kinds.map(
    (k) =>
      `${k} ${results[k].ms.toFixed(1)} ms (${results[k].gflops.toFixed(0)} GFLOP/s${k === 'fp32' ? '' : `, ${(base.ms / results[k].ms).toFixed(2)}x, rel. error ${rel(results[k].out, base.out).toExponential(1)}`})`,
  );
  console.log(`${name}: ${parts.join('; ')}`);
}
