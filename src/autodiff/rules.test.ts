/**
 * Every gradient rule against central finite differences on random inputs: one-op (or small) graphs, float64 where
 * onnxruntime's CPU provider has double kernels, float32 where it has none (Conv, ConvTranspose, Erf,
 * InstanceNormalization, Resize), with a step of 1e-2 and a tolerance of 2e-2 (float32 rounding of sums of ~100
 * terms divided by 2h gives errors near 1e-3 of the gradient's scale).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import onnxProto from 'onnx-proto';
import { SeededRandom } from '../core/random.js';
import { DataType, GraphBuilder, type Attribute } from '../fixtures/onnx-graph.js';
import { checkGradient, type CheckInput } from './testing/gradient-check.js';
import { float64Model } from './testing/float64-model.js';

const { onnx } = onnxProto;
const F = DataType.FLOAT;

interface Case {
  name: string;
  inputs: Record<string, CheckInput>;
  wrt: string[];
  /** Builds the graph on inputs declared from `inputs`; returns the output value. */
  build: (b: GraphBuilder, w: (dims: number[], scale?: number) => string) => string;
  float32?: boolean;
  opset?: number;
  /** Declare the inputs without shapes (ranks unknown to the builder: the rules' fallbacks). */
  shapeless?: boolean;
}

function model(c: Case): Uint8Array {
  const b = new GraphBuilder(c.name);
  const random = new SeededRandom(11);
  for (const [name, spec] of Object.entries(c.inputs)) b.input(name, spec.data instanceof BigInt64Array ? DataType.INT64 : F, spec.dims);
  const w = (dims: number[], scale = 1): string =>
    b.float(
      dims,
      Float32Array.from({ length: dims.reduce((a, x) => a * x, 1) }, () => (2 * random.nextFloat() - 1) * scale),
    );
  const y = c.build(b, w);
  b.output(y, F, []);
  const bytes = withoutShapes(b.toBytes({ opset: c.opset ?? 21 }), c.shapeless ?? false);
  return c.float32 ? bytes : float64Model(bytes);
}

/** The builder declares outputs with a shape; these graphs' output shapes (and inputs' when asked) are left to onnxruntime. */
function withoutShapes(bytes: Uint8Array, inputs: boolean): Uint8Array {
  const proto = onnx.ModelProto.decode(bytes);
  for (const v of [...(proto.graph!.output ?? []), ...(inputs ? (proto.graph!.input ?? []) : [])]) delete v.type!.tensorType!.shape;
  return onnx.ModelProto.encode(proto).finish();
}

const x = (dims: number[], extra: Partial<CheckInput> = {}): CheckInput => ({ dims, ...extra });

const unaries: [string, Partial<CheckInput>][] = [
  ['Neg', {}],
  ['Identity', {}],
  ['Sqrt', { positive: true }],
  ['Reciprocal', { positive: true }],
  ['Exp', {}],
  ['Log', { positive: true }],
  ['Sigmoid', { scale: 3 }],
  ['Tanh', { scale: 2 }],
  ['Relu', {}],
];

const cases: Case[] = [
  ...unaries.map(([op, extra]): Case => ({ name: op, inputs: { x: x([2, 3, 4], extra) }, wrt: ['x'], build: (b) => b.op(op, ['x']) })),
  { name: 'Erf (float32: no double kernel)', inputs: { x: x([2, 3, 4], { scale: 2 }) }, wrt: ['x'], build: (b) => b.op('Erf', ['x']), float32: true },
  { name: 'Add broadcast', inputs: { a: x([2, 3, 4]), c: x([4]) }, wrt: ['a', 'c'], build: (b) => b.op('Add', ['a', 'c']) },
  { name: 'Sub broadcast both ways', inputs: { a: x([2, 1, 4]), c: x([3, 1]) }, wrt: ['a', 'c'], build: (b) => b.op('Sub', ['a', 'c']) },
  { name: 'Mul broadcast', inputs: { a: x([2, 3, 4]), c: x([1, 3, 1]) }, wrt: ['a', 'c'], build: (b) => b.op('Mul', ['a', 'c']) },
  { name: 'Mul of a value by itself', inputs: { a: x([5]) }, wrt: ['a'], build: (b) => b.op('Mul', ['a', 'a']) },
  { name: 'Div broadcast', inputs: { a: x([2, 3]), c: x([3], { positive: true }) }, wrt: ['a', 'c'], build: (b) => b.op('Div', ['a', 'c']) },
  { name: 'Pow constant exponent', inputs: { a: x([2, 3], { positive: true }) }, wrt: ['a'], build: (b) => b.op('Pow', ['a', b.scalarFloat(2.5)]) },
  { name: 'Pow both', inputs: { a: x([2, 3], { positive: true }), p: x([3]) }, wrt: ['a', 'p'], build: (b) => b.op('Pow', ['a', 'p']) },
  { name: 'Sum of three with fan-out', inputs: { a: x([3, 4]), c: x([4]) }, wrt: ['a', 'c'], build: (b) => b.op('Sum', ['a', 'c', b.op('Tanh', ['a'])]) },
  { name: 'SiLU as x·Sigmoid(x)', inputs: { a: x([2, 6], { scale: 3 }) }, wrt: ['a'], build: (b) => b.op('Mul', ['a', b.op('Sigmoid', ['a'])]) },
  {
    name: 'GELU via Erf (float32)',
    inputs: { a: x([2, 6], { scale: 2 }) },
    wrt: ['a'],
    float32: true,
    build: (b) =>
      b.op('Mul', [b.op('Mul', ['a', b.scalarFloat(0.5)]), b.op('Add', [b.op('Erf', [b.op('Div', ['a', b.scalarFloat(Math.SQRT2)])]), b.scalarFloat(1)])]),
  },
  { name: 'MatMul 3-D by weight', inputs: { a: x([2, 3, 4]) }, wrt: ['a'], build: (b, w) => b.op('MatMul', ['a', w([4, 5])]) },
  { name: 'MatMul batched with broadcast', inputs: { a: x([2, 3, 4, 5]), c: x([1, 3, 5, 2]) }, wrt: ['a', 'c'], build: (b) => b.op('MatMul', ['a', 'c']) },
  {
    name: 'MatMul of operands of unknown rank (Einsum)',
    shapeless: true,
    inputs: { a: x([2, 3, 4, 5]), c: x([3, 5, 2]) },
    wrt: ['a', 'c'],
    build: (b) => b.op('MatMul', ['a', 'c']),
  },
  {
    name: 'Gather at opset 14 (opset raised to 16 for ScatterElements add)',
    opset: 14,
    inputs: { a: x([4, 3]) },
    wrt: ['a'],
    build: (b) => b.op('Tanh', [b.op('Gather', ['a', b.int64([1, 1, 3])])]),
  },
  ...[0, 1].flatMap((ta) =>
    [0, 1].map((tb): Case => ({
      name: `Gemm transA=${ta} transB=${tb}`,
      inputs: { a: x(ta ? [4, 3] : [3, 4]), c: x(tb ? [5, 4] : [4, 5]), bias: x([5]) },
      wrt: ['a', 'c', 'bias'],
      build: (b) => b.op('Gemm', ['a', 'c', 'bias'], { alpha: { float: 0.7 }, beta: { float: 1.5 }, transA: { int: ta }, transB: { int: tb } }),
    })),
  ),
  ...(<{ label: string; attrs: Record<string, Attribute>; cin: number; group: number; hw: number[] }[]>[
    { label: '3×3 pad 1', attrs: { pads: { ints: [1, 1, 1, 1] } }, cin: 4, group: 1, hw: [6, 5] },
    { label: 'stride 2 pad 1 (dropped rows)', attrs: { pads: { ints: [1, 1, 1, 1] }, strides: { ints: [2, 2] } }, cin: 4, group: 1, hw: [8, 7] },
    { label: 'stride 2 no pad (untouched last row)', attrs: { strides: { ints: [2, 2] } }, cin: 4, group: 1, hw: [8, 6] },
    { label: 'group 2 dilation 2', attrs: { dilations: { ints: [2, 2] }, group: { int: 2 }, pads: { ints: [2, 0, 2, 1] } }, cin: 4, group: 2, hw: [7, 7] },
  ]).map((v): Case => ({
    name: `Conv ${v.label} (float32)`,
    inputs: { a: x([2, v.cin, ...v.hw]) },
    wrt: ['a'],
    float32: true,
    build: (b, w) => b.op('Conv', ['a', w([6, v.cin / v.group, 3, 3], 0.3), w([6])], v.attrs),
  })),
  { name: 'Softmax last axis', inputs: { a: x([2, 3, 5], { scale: 2 }) }, wrt: ['a'], build: (b) => b.op('Softmax', ['a']) },
  { name: 'Softmax axis 1', inputs: { a: x([2, 3, 5], { scale: 2 }) }, wrt: ['a'], build: (b) => b.op('Softmax', ['a'], { axis: { int: 1 } }) },
  { name: 'LogSoftmax', inputs: { a: x([2, 5], { scale: 2 }) }, wrt: ['a'], build: (b) => b.op('LogSoftmax', ['a']) },
  {
    name: 'ReduceMean keepdims 0',
    inputs: { a: x([2, 3, 4]) },
    wrt: ['a'],
    build: (b) => b.op('ReduceMean', ['a', b.int64([1, -1])], { keepdims: { int: 0 } }),
  },
  {
    name: 'ReduceMean opset 17 axes attribute',
    opset: 17,
    inputs: { a: x([2, 3, 4]) },
    wrt: ['a'],
    build: (b) => b.op('ReduceMean', ['a'], { axes: { ints: [-1] } }),
  },
  { name: 'ReduceSum all', inputs: { a: x([2, 3]) }, wrt: ['a'], build: (b) => b.op('ReduceSum', ['a'], { keepdims: { int: 0 } }) },
  { name: 'ReduceSum keepdims', inputs: { a: x([2, 3, 4]) }, wrt: ['a'], build: (b) => b.op('ReduceSum', ['a', b.int64([0, 2])]) },
  {
    name: 'LayerNormalization with scale and bias',
    inputs: { a: x([2, 3, 8], { scale: 2 }), s: x([8]), bias: x([8]) },
    wrt: ['a', 's', 'bias'],
    build: (b) => b.op('LayerNormalization', ['a', 's', 'bias'], { epsilon: { float: 1e-5 } }),
  },
  {
    name: 'LayerNormalization over two axes',
    inputs: { a: x([2, 3, 4], { scale: 2 }) },
    wrt: ['a'],
    build: (b, w) => b.op('LayerNormalization', ['a', w([3, 4]), w([3, 4])], { axis: { int: 1 } }),
  },
  {
    name: 'LayerNormalization at opset 17 (ReduceMean axes as an attribute)',
    opset: 17,
    inputs: { a: x([2, 3, 8], { scale: 2 }) },
    wrt: ['a'],
    build: (b, w) => b.op('LayerNormalization', ['a', w([8]), w([8])]),
  },
  {
    name: 'InstanceNormalization at opset 17 (float32)',
    opset: 17,
    float32: true,
    inputs: { a: x([1, 4, 3, 3], { scale: 2 }) },
    wrt: ['a'],
    build: (b, w) => b.op('InstanceNormalization', ['a', w([4]), w([4])]),
  },
  {
    name: 'SimplifiedLayerNormalization (RMS)',
    inputs: { a: x([2, 3, 8], { scale: 2 }) },
    wrt: ['a'],
    build: (b, w) => b.op('SimplifiedLayerNormalization', ['a', w([8])], { epsilon: { float: 1e-6 } }),
  },
  {
    name: 'decomposed RMS norm',
    inputs: { a: x([2, 3, 8], { scale: 2 }) },
    wrt: ['a'],
    build: (b, w) =>
      b.op('Mul', [
        b.op('Div', ['a', b.op('Sqrt', [b.op('Add', [b.op('ReduceMean', [b.op('Pow', ['a', b.scalarFloat(2)]), b.int64([-1])]), b.scalarFloat(1e-6)])])]),
        w([8]),
      ]),
  },
  {
    name: 'GroupNormalization',
    inputs: { a: x([2, 6, 3, 3], { scale: 2 }) },
    wrt: ['a'],
    build: (b, w) => b.op('GroupNormalization', ['a', w([6]), w([6])], { num_groups: { int: 3 }, epsilon: { float: 1e-5 } }),
  },
  {
    name: 'GroupNormalization at opset 18 (scale per group)',
    opset: 18,
    inputs: { a: x([2, 6, 3, 3], { scale: 2 }) },
    wrt: ['a'],
    build: (b, w) => b.op('GroupNormalization', ['a', w([3]), w([3])], { num_groups: { int: 3 }, epsilon: { float: 1e-5 } }),
  },
  {
    name: 'InstanceNormalization (float32)',
    float32: true,
    inputs: { a: x([2, 3, 4, 4], { scale: 2 }) },
    wrt: ['a'],
    build: (b, w) => b.op('InstanceNormalization', ['a', w([3]), w([3])]),
  },
  { name: 'Reshape', inputs: { a: x([2, 3, 4]) }, wrt: ['a'], build: (b) => b.op('Tanh', [b.op('Reshape', ['a', b.int64([0, -1])])]) },
  { name: 'Flatten', inputs: { a: x([2, 3, 4]) }, wrt: ['a'], build: (b) => b.op('Tanh', [b.op('Flatten', ['a'], { axis: { int: 2 } })]) },
  { name: 'Transpose', inputs: { a: x([2, 3, 4]) }, wrt: ['a'], build: (b) => b.op('Tanh', [b.op('Transpose', ['a'], { perm: { ints: [2, 0, 1] } })]) },
  {
    name: 'Concat with a constant',
    inputs: { a: x([2, 3]), c: x([2, 1]) },
    wrt: ['a', 'c'],
    build: (b, w) => b.op('Tanh', [b.op('Concat', ['a', w([2, 2]), 'c'], { axis: { int: -1 } })]),
  },
  {
    name: 'Split, one output unused',
    inputs: { a: x([2, 6]) },
    wrt: ['a'],
    build: (b) => {
      const [p, , r] = b.node('Split', ['a', b.int64([1, 2, 3])], 3, { axis: { int: 1 } });
      return b.op('Mul', [b.op('ReduceSum', [p!, b.int64([1])]), r!]);
    },
  },
  {
    name: 'Split opset 18 num_outputs',
    opset: 18,
    inputs: { a: x([2, 6]) },
    wrt: ['a'],
    build: (b) => {
      const [p, q] = b.node('Split', ['a'], 2, { axis: { int: 1 }, num_outputs: { int: 2 } });
      return b.op('Mul', [p!, b.op('Exp', [q!])]);
    },
  },
  {
    name: 'Slice with steps and negative ends',
    inputs: { a: x([4, 7]) },
    wrt: ['a'],
    build: (b) => b.op('Tanh', [b.op('Slice', ['a', b.int64([1, 6]), b.int64([-1, 0]), b.int64([0, 1]), b.int64([1, -2])])]),
  },
  {
    name: 'Gather with repeated indices',
    inputs: { a: x([3, 5]) },
    wrt: ['a'],
    build: (b) => b.op('Tanh', [b.op('Gather', ['a', b.int64([4, 0, 4, 2])], { axis: { int: 1 } })]),
  },
  {
    name: 'Unsqueeze and Squeeze',
    inputs: { a: x([3, 4]) },
    wrt: ['a'],
    build: (b) => b.op('Tanh', [b.op('Squeeze', [b.op('Exp', [b.op('Unsqueeze', ['a', b.int64([0, 2])])]), b.int64([0])])]),
  },
  { name: 'Expand', inputs: { a: x([3, 1]) }, wrt: ['a'], build: (b) => b.op('Tanh', [b.op('Expand', ['a', b.int64([2, 3, 4])])]) },
  {
    name: 'Where (attention mask)',
    inputs: { a: x([2, 4]), c: x([4]) },
    wrt: ['a', 'c'],
    build: (b, w) => b.op('Where', [b.op('Greater', [w([2, 4]), b.scalarFloat(0)]), 'a', 'c']),
  },
  {
    name: 'Cast float32 → float64 → float32',
    float32: true,
    inputs: { a: x([3, 4]) },
    wrt: ['a'],
    build: (b) => b.op('Cast', [b.op('Tanh', [b.op('Cast', ['a'], { to: { int: DataType.DOUBLE } })])], { to: { int: F } }),
  },
  {
    name: 'Resize nearest ×2 (float32)',
    float32: true,
    inputs: { a: x([1, 2, 3, 4]) },
    wrt: ['a'],
    build: (b) =>
      b.op('Tanh', [
        b.op('Resize', ['a', '', b.float([4], [1, 1, 2, 2])], {
          mode: { string: 'nearest' },
          coordinate_transformation_mode: { string: 'asymmetric' },
          nearest_mode: { string: 'floor' },
        }),
      ]),
  },
  {
    name: 'Resize nearest by sizes, half_pixel (float32)',
    float32: true,
    inputs: { a: x([1, 2, 3, 4]) },
    wrt: ['a'],
    build: (b) => b.op('Tanh', [b.op('Resize', ['a', '', '', b.int64([1, 2, 7, 5])], { mode: { string: 'nearest' } })]),
  },
];

for (const c of cases) {
  test(`gradient rule: ${c.name} matches central finite differences`, async () => {
    const result = await checkGradient(model(c), { wrt: c.wrt, output: await outputOf(c), inputs: c.inputs, dtype: c.float32 ? 'float32' : 'float64' });
    const tolerance = c.float32 ? 2e-2 : 1e-6;
    assert.ok(result.maxError < tolerance, `max relative error ${result.maxError} ≥ ${tolerance}: ${JSON.stringify(result.pairs.slice(0, 4))}`);
    assert.ok(
      result.pairs.some((p) => Math.abs(p.numeric) > 1e-4),
      'every checked coordinate has a zero gradient: the check would pass for anything',
    );
  });
}

/** The output name the case's graph gets (GraphBuilder names it; rebuilding is deterministic). */
async function outputOf(c: Case): Promise<string> {
  const b = new GraphBuilder(c.name);
  for (const [name, spec] of Object.entries(c.inputs)) b.input(name, spec.data instanceof BigInt64Array ? DataType.INT64 : F, spec.dims);
  const random = new SeededRandom(11);
  return c.build(b, (dims) =>
    b.float(
      dims,
      Float32Array.from({ length: dims.reduce((a, v) => a * v, 1) }, () => random.nextFloat()),
    ),
  );
}
