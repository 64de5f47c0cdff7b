/**
 * Rules of the ops that pick elements (Gather, Slice, nearest Resize): the same op applied to the input's element
 * positions says where each output element came from, and the cotangent is scattered back there (ScatterElements
 * with reduction 'add', so an element picked twice gets both contributions).
 */
import { DataType } from '../fixtures/onnx-graph.js';
import { attrInt, attrString } from './graph-facts.js';
import { only, type Rule } from './rule.js';

const gather: Rule = (c, grads) => {
  const x = c.input(0);
  const picked = c.e.node('Gather', [c.e.positions(x), c.input(1)], { axis: { int: attrInt(c.node, 'axis', 0) } })[0]!;
  return [c.e.scatterBack(x, picked, only(grads), c.floatType), undefined];
};

const slice: Rule = (c, grads) => {
  const x = c.input(0);
  const picked = c.e.op('Slice', [c.e.positions(x), ...(c.node.input ?? []).slice(1)]);
  return [c.e.scatterBack(x, picked, only(grads), c.floatType)];
};

/**
 * Nearest Resize: positions go through the same Resize as float32 (exact below 2^24 elements, 16 Mi: a 1280 × 64 ×
 * 64 map has 5 Mi) and come back as int64.
 */
const resize: Rule = (c, grads) => {
  if (attrString(c.node, 'mode', 'nearest') !== 'nearest') c.refuse(`Resize mode ${attrString(c.node, 'mode', 'nearest')} has no gradient rule (nearest only)`);
  const x = c.input(0);
  const asFloat = c.e.op('Cast', [c.e.positions(x)], { to: { int: DataType.FLOAT } });
  const resized = c.e.node('Resize', [asFloat, ...(c.node.input ?? []).slice(1)], {}, 1)[0]!;
  // The forward node's attributes (mode, coordinate transformation, rounding) are copied as they are.
  c.e.nodes[c.e.nodes.length - 1]!.attribute = c.node.attribute ?? [];
  const picked = c.e.op('Cast', [resized], { to: { int: DataType.INT64 } });
  return [c.e.scatterBack(x, picked, only(grads), c.floatType)];
};

export const INDEX_RULES: Record<string, Rule> = { Gather: gather, Slice: slice, Resize: resize };
