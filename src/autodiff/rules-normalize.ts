/**
 * Rules of Softmax, the reductions and the normalizations (Layer, Group, Instance, RMS). The normalizations recompute
 * their statistics from the input in the backward graph (a few reductions) rather than asking for the forward's.
 * Decomposed normalizations (ReduceMean, Sub, Pow/Mul, Sqrt, Div) compose from the element-wise rules.
 */
import { attrFloat, attrInt, attrInts } from './graph-facts.js';
import { only, type Rule, type RuleContext } from './rule.js';

const softmax: Rule = (c, grads) => {
  const g = only(grads);
  const y = c.output(0);
  const axis = attrInt(c.node, 'axis', -1);
  const dot = c.e.op('ReduceSum', [c.e.op('Mul', [g, y]), c.e.ints([axis])], { keepdims: { int: 1 } });
  return [c.e.op('Mul', [y, c.e.op('Sub', [g, dot])])];
};

const logSoftmax: Rule = (c, grads) => {
  const g = only(grads);
  const axis = attrInt(c.node, 'axis', -1);
  const total = c.e.op('ReduceSum', [g, c.e.ints([axis])], { keepdims: { int: 1 } });
  return [c.e.op('Sub', [g, c.e.op('Mul', [c.e.op('Exp', [c.output(0)]), total])])];
};

/** ReduceSum / ReduceMean: the cotangent spread over the reduced axes (divided by their size for the mean). */
function reduce(mean: boolean): Rule {
  return (c, grads) => {
    let g = only(grads);
    const x = c.input(0);
    const axes = attrInts(c.node, 'axes') ?? c.facts.ints(c.node.input?.[1]);
    const dynamicAxes = !attrInts(c.node, 'axes') && (c.node.input?.[1] ?? '') !== '';
    if (dynamicAxes && !axes) c.refuse(`${c.node.opType} axes computed in the graph have no gradient rule (pmg needs constant axes)`);
    if (axes && axes.length === 0 && attrInt(c.node, 'noop_with_empty_axes', 0)) return [g, undefined];
    if (!attrInt(c.node, 'keepdims', 1) && axes && axes.length) {
      const rank = c.facts.rank(x);
      g = c.e.op('Unsqueeze', [g, c.e.ints(rank === undefined ? axes : axes.map((a) => (a < 0 ? a + rank : a)))]);
    }
    const spread = c.e.op('Expand', [g, c.e.shape(x)]);
    if (!mean) return [spread, undefined];
    const per = c.e.op('Div', [c.e.count(x, c.floatType), c.e.count(c.output(0), c.floatType)]);
    return [c.e.op('Div', [spread, per]), undefined];
  };
}

interface Normalized {
  /** The normalized input (x − mean) · rstd, or x · rstd for RMS. */
  xhat: string;
  rstd: string;
}

/** Statistics of x over `axes`, recomputed (centered: Layer/Group/Instance; not centered: RMS). */
function normalize(c: RuleContext, x: string, axes: number[], eps: number, centered: boolean): Normalized {
  const centeredX = centered ? c.e.op('Sub', [x, c.e.reduceMean(x, axes)]) : x;
  const variance = c.e.reduceMean(c.e.op('Mul', [centeredX, centeredX]), axes);
  const rstd = c.e.op('Reciprocal', [c.e.op('Sqrt', [c.e.op('Add', [variance, c.e.scalar(eps, c.floatType)])])]);
  return { xhat: c.e.op('Mul', [centeredX, rstd]), rstd };
}

/** dx = rstd · (dxhat − mean(dxhat) − xhat · mean(dxhat · xhat)); without the mean(dxhat) term for RMS. */
function normalizeBack(c: RuleContext, n: Normalized, dxhat: string, axes: number[], centered: boolean): string {
  const projection = c.e.op('Mul', [n.xhat, c.e.reduceMean(c.e.op('Mul', [dxhat, n.xhat]), axes)]);
  const centeredGrad = centered ? c.e.op('Sub', [dxhat, c.e.reduceMean(dxhat, axes)]) : dxhat;
  return c.e.op('Mul', [n.rstd, c.e.op('Sub', [centeredGrad, projection])]);
}

/** LayerNormalization (centered) and RMS normalization (SimplifiedLayerNormalization, RMSNormalization). */
function layerNorm(centered: boolean): Rule {
  return (c, grads) => {
    const g = only(grads);
    const x = c.input(0);
    const scale = c.input(1);
    const axis = attrInt(c.node, 'axis', -1);
    let axesList: number[];
    if (axis < 0) axesList = Array.from({ length: -axis }, (_, i) => axis + i);
    else {
      const rank = c.facts.rank(x) ?? c.refuse(`${c.node.opType} with a non-negative axis on an input of unknown rank has no gradient rule`);
      axesList = Array.from({ length: rank - axis }, (_, i) => axis + i);
    }
    const axes = axesList;
    const n = normalize(c, x, axes, attrFloat(c.node, 'epsilon', 1e-5), centered);
    const gx = c.needs(0) ? normalizeBack(c, n, c.e.op('Mul', [g, scale]), axes, centered) : undefined;
    const gscale = c.needs(1) ? c.e.unbroadcast(c.e.op('Mul', [g, n.xhat]), scale) : undefined;
    const bias = c.node.input?.[2];
    const gbias = bias && c.needs(2) ? c.e.unbroadcast(g, bias) : undefined;
    return [gx, gscale, gbias];
  };
}

/**
 * Group and Instance normalization over [N, C, ...]: x is viewed as [N, groups, −1] for the statistics; the scale
 * is per channel ([C]; per group for GroupNormalization before opset 21).
 */
function channelNorm(c: RuleContext, g: string, groups: string, scalePerGroup: boolean): (string | undefined)[] {
  if (c.needs(1) || c.needs(2)) c.refuse(`${c.node.opType} scale and bias that depend on a differentiated input have no gradient rule`);
  const x = c.input(0);
  const scale = c.e.op('Unsqueeze', [c.input(1), c.e.ints([1])]);
  const grouped = c.e.op('Concat', [c.e.ints([0]), groups, c.e.ints([-1])], { axis: { int: 0 } });
  const axes = [2];
  const n = normalize(c, c.e.op('Reshape', [x, grouped]), axes, attrFloat(c.node, 'epsilon', 1e-5), true);
  const dxhat = scalePerGroup
    ? c.e.op('Mul', [c.e.op('Reshape', [g, grouped]), scale])
    : c.e.op('Reshape', [c.e.op('Mul', [c.e.op('Reshape', [g, c.e.ints([0, 0, -1])]), scale]), grouped]);
  return [c.e.op('Reshape', [normalizeBack(c, n, dxhat, axes, true), c.e.shape(x)]), undefined, undefined];
}

const groupNorm: Rule = (c, grads) => channelNorm(c, only(grads), c.e.ints([attrInt(c.node, 'num_groups', 1)]), c.facts.opset < 21);
const instanceNorm: Rule = (c, grads) => channelNorm(c, only(grads), c.e.dim(c.input(0), 1), false);

export const NORMALIZE_RULES: Record<string, Rule> = {
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  ReduceSum: reduce(false),
  ReduceMean: reduce(true),
  LayerNormalization: layerNorm(true),
  SimplifiedLayerNormalization: layerNorm(false),
  RMSNormalization: layerNorm(false),
};
export const CHANNEL_NORM_RULES: Record<string, Rule> = { GroupNormalization: groupNorm, InstanceNormalization: instanceNorm };
