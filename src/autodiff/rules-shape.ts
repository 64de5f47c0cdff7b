/** Rules of the shape ops: the cotangent is moved back to where each element came from. */
import { attrInt, attrInts } from './graph-facts.js';
import { only, type Rule } from './rule.js';

/** Reshape, Flatten, Squeeze, Unsqueeze: same elements, the input's shape. */
const reshapeBack: Rule = (c, grads) => [c.e.op('Reshape', [only(grads), c.e.shape(c.input(0))])];

const transpose: Rule = (c, grads) => {
  const perm = attrInts(c.node, 'perm');
  if (!perm) return [c.e.op('Transpose', [only(grads)])];
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return [c.e.op('Transpose', [only(grads)], { perm: { ints: inverse } })];
};

const expand: Rule = (c, grads) => [c.e.unbroadcast(only(grads), c.input(0)), undefined];

const concat: Rule = (c, grads) => {
  const axis = attrInt(c.node, 'axis', 0);
  const inputs = c.node.input ?? [];
  const sizes = c.e.op(
    'Concat',
    inputs.map((x) => c.e.dim(x, axis)),
    { axis: { int: 0 } },
  );
  const parts = c.e.node('Split', [only(grads), sizes], { axis: { int: axis } }, inputs.length);
  return inputs.map((_, i) => (c.needs(i) ? parts[i] : undefined));
};

const split: Rule = (c, grads) => {
  const axis = attrInt(c.node, 'axis', 0);
  const parts = (c.node.output ?? []).map((y, i) => grads[i] ?? c.e.zerosLike(y, c.floatType));
  return [c.e.op('Concat', parts, { axis: { int: axis } })];
};

export const SHAPE_RULES: Record<string, Rule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Expand: expand,
  Concat: concat,
  Split: split,
};
