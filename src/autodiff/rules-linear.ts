/**
 * Rules of the matrix products and convolution. Only activation gradients are needed (weights are frozen), but the
 * matrix rules give both operands theirs, so the project's own modules (a map, a prefix table) get parameter
 * gradients from them too. A Conv's input gradient is a ConvTranspose with the same strides, pads, dilations and
 * groups, padded at the end where a strided Conv dropped rows no window reached.
 */
import { attrInts, attrString, attrFloat, attrInt } from './graph-facts.js';
import { only, type Rule, type RuleContext } from './rule.js';

/** x with its last two axes swapped, or undefined when x's rank is unknown. */
function transposeLast(c: RuleContext, x: string): string | undefined {
  const rank = c.facts.rank(x);
  if (rank === undefined || rank < 2) return undefined;
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return c.e.op('Transpose', [x], { perm: { ints: perm } });
}

/**
 * x expanded to the batch axes of `like` (onnxruntime's Einsum wants the same number of batch axes in every operand):
 * like's shape but the last two axes, then x's last two.
 */
function expandBatch(c: RuleContext, x: string, like: string): string {
  const slice = (shape: string, from: number, to: number): string => c.e.op('Slice', [shape, c.e.ints([from]), c.e.ints([to])]);
  const shape = c.e.op('Concat', [slice(c.e.shape(like), 0, -2), slice(c.e.shape(x), -2, Number.MAX_SAFE_INTEGER)], { axis: { int: 0 } });
  return c.e.op('Expand', [x, shape]);
}

const matMul: Rule = (c, grads) => {
  const g = only(grads);
  const [a, b] = [c.input(0), c.input(1)];
  const [ra, rb] = [c.facts.rank(a), c.facts.rank(b)];
  if (ra === 1 || rb === 1) c.refuse('a MatMul with a 1-D operand has no gradient rule (pmg expects matrices or batches of them)');
  const ga = (): string => {
    const bt = transposeLast(c, b);
    const product = bt ? c.e.op('MatMul', [g, bt]) : c.e.op('Einsum', [g, expandBatch(c, b, g)], { equation: { string: '...ik,...jk->...ij' } });
    return c.e.unbroadcast(product, a, rb === 2 && ra !== undefined);
  };
  const gb = (): string => {
    const at = transposeLast(c, a);
    const product = at ? c.e.op('MatMul', [at, g]) : c.e.op('Einsum', [expandBatch(c, a, g), g], { equation: { string: '...ki,...kj->...ij' } });
    return c.e.unbroadcast(product, b, ra === 2 && rb !== undefined);
  };
  return [c.needs(0) ? ga() : undefined, c.needs(1) ? gb() : undefined];
};

const gemm: Rule = (c, grads) => {
  const g = only(grads);
  const { node } = c;
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const transA = attrInt(node, 'transA', 0);
  const transB = attrInt(node, 'transB', 0);
  const [a, b] = [c.input(0), c.input(1)];
  const gemmOf = (x: string, y: string, tx: number, ty: number): string =>
    c.e.op('Gemm', [x, y], { alpha: { float: alpha }, transA: { int: tx }, transB: { int: ty } });
  const ga = (): string => (transA ? gemmOf(b, g, transB, 1) : gemmOf(g, b, 0, 1 - transB));
  const gb = (): string => (transB ? gemmOf(g, a, 1, transA) : gemmOf(a, g, 1 - transA, 0));
  const gc = (): string => c.e.unbroadcast(beta === 1 ? g : c.e.op('Mul', [g, c.e.scalar(beta, c.floatType)]), c.input(2));
  return [c.needs(0) ? ga() : undefined, c.needs(1) ? gb() : undefined, c.needs(2) ? gc() : undefined];
};

const conv: Rule = (c, grads) => {
  const g = only(grads);
  const { node } = c;
  if (c.needs(1)) c.refuse('a Conv weight that depends on a differentiated input has no gradient rule (pmg computes activation gradients; weights are frozen)');
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') c.refuse(`Conv auto_pad ${autoPad} has no gradient rule; re-export with explicit pads`);
  const w = c.input(1);
  const kernel = attrInts(node, 'kernel_shape');
  const wRank = c.facts.rank(w);
  const spatial =
    kernel?.length ?? (wRank !== undefined ? wRank - 2 : c.refuse('the Conv weight shape is unknown (pmg needs kernel_shape or a weight initializer)'));
  const strides = attrInts(node, 'strides') ?? Array(spatial).fill(1);
  const attributes = {
    strides: { ints: strides },
    pads: { ints: attrInts(node, 'pads') ?? Array(2 * spatial).fill(0) },
    dilations: { ints: attrInts(node, 'dilations') ?? Array(spatial).fill(1) },
    group: { int: attrInt(node, 'group', 1) },
    ...(kernel ? { kernel_shape: { ints: kernel } } : {}),
  };
  const gx = (): string => {
    const x = c.input(0);
    if (strides.every((s) => s === 1)) return c.e.op('ConvTranspose', [g, w], attributes);
    // Strided: the transposed conv without the end crop, cut to the input's size, then zeros for any rows at the end
    // that no window reached (a strided Conv's output size rounds down).
    const pads = attributes.pads.ints;
    const full = c.e.op('ConvTranspose', [g, w], { ...attributes, pads: { ints: [...pads.slice(0, spatial), ...Array(spatial).fill(0)] } });
    const spatialAxes = c.e.ints(Array.from({ length: spatial }, (_, i) => i + 2));
    const tail = (shape: string): string => c.e.op('Slice', [shape, c.e.ints([2]), c.e.ints([2 + spatial])]);
    const inputSize = tail(c.e.shape(x));
    const cut = c.e.op('Slice', [full, c.e.ints(Array(spatial).fill(0)), inputSize, spatialAxes]);
    const missing = c.e.op('Sub', [inputSize, tail(c.e.op('Shape', [cut]))]);
    return c.e.op('Pad', [cut, c.e.op('Concat', [c.e.ints(Array(spatial + 4).fill(0)), missing], { axis: { int: 0 } })]);
  };
  const gbias = (): string => c.e.op('ReduceSum', [g, c.e.ints([0, ...Array.from({ length: spatial }, (_, i) => i + 2)])], { keepdims: { int: 0 } });
  return [c.needs(0) ? gx() : undefined, undefined, c.needs(2) ? gbias() : undefined];
};

export const LINEAR_RULES: Record<string, Rule> = { MatMul: matMul, Gemm: gemm, Conv: conv };
