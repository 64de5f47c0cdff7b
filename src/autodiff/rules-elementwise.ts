/** Rules of element-wise arithmetic and activations (broadcast operands are reduced back: Emitter.unbroadcast). */
import { only, type Rule } from './rule.js';

const add: Rule = (c, grads) => {
  const g = only(grads);
  return [c.needs(0) ? c.e.unbroadcast(g, c.input(0)) : undefined, c.needs(1) ? c.e.unbroadcast(g, c.input(1)) : undefined];
};

const sub: Rule = (c, grads) => {
  const g = only(grads);
  return [c.needs(0) ? c.e.unbroadcast(g, c.input(0)) : undefined, c.needs(1) ? c.e.unbroadcast(c.e.op('Neg', [g]), c.input(1)) : undefined];
};

const mul: Rule = (c, grads) => {
  const g = only(grads);
  const [a, b] = [c.input(0), c.input(1)];
  if (a === b) return [c.e.op('Mul', [c.e.op('Mul', [g, a]), c.e.scalar(2, c.floatType)]), undefined];
  return [c.needs(0) ? c.e.unbroadcast(c.e.op('Mul', [g, b]), a) : undefined, c.needs(1) ? c.e.unbroadcast(c.e.op('Mul', [g, a]), b) : undefined];
};

const div: Rule = (c, grads) => {
  const g = only(grads);
  const [a, b] = [c.input(0), c.input(1)];
  const gb = (): string => c.e.unbroadcast(c.e.op('Neg', [c.e.op('Mul', [g, c.e.op('Div', [c.output(0), b])])]), b);
  return [c.needs(0) ? c.e.unbroadcast(c.e.op('Div', [g, b]), a) : undefined, c.needs(1) ? gb() : undefined];
};

const pow: Rule = (c, grads) => {
  const g = only(grads);
  const [a, p] = [c.input(0), c.input(1)];
  const one = c.e.scalar(1, c.floatType);
  const ga = (): string => {
    const exponent = c.facts.type(p) === c.floatType ? p : c.e.op('Cast', [p], { to: { int: c.floatType } });
    return c.e.unbroadcast(c.e.op('Mul', [g, c.e.op('Mul', [exponent, c.e.op('Pow', [a, c.e.op('Sub', [exponent, one])])])]), a);
  };
  const gp = (): string => c.e.unbroadcast(c.e.op('Mul', [g, c.e.op('Mul', [c.output(0), c.e.op('Log', [a])])]), p);
  return [c.needs(0) ? ga() : undefined, c.needs(1) ? gp() : undefined];
};

/** d/dx of y = f(x) given as a function of x and y. */
function unary(derivative: (c: Parameters<Rule>[0], x: string, y: string) => string): Rule {
  return (c, grads) => [c.e.op('Mul', [only(grads), derivative(c, c.input(0), c.output(0))])];
}

const neg: Rule = (c, grads) => [c.e.op('Neg', [only(grads)])];
const identity: Rule = (_c, grads) => [only(grads)];
const sqrt: Rule = (c, grads) => [c.e.op('Div', [only(grads), c.e.op('Mul', [c.output(0), c.e.scalar(2, c.floatType)])])];
const log: Rule = (c, grads) => [c.e.op('Div', [only(grads), c.input(0)])];
const reciprocal = unary((c, _x, y) => c.e.op('Neg', [c.e.op('Mul', [y, y])]));
const exp = unary((_c, _x, y) => y);
const sigmoid = unary((c, _x, y) => c.e.op('Mul', [y, c.e.op('Sub', [c.e.scalar(1, c.floatType), y])]));
const tanh = unary((c, _x, y) => c.e.op('Sub', [c.e.scalar(1, c.floatType), c.e.op('Mul', [y, y])]));
const erf = unary((c, x) => c.e.op('Mul', [c.e.scalar(2 / Math.sqrt(Math.PI), c.floatType), c.e.op('Exp', [c.e.op('Neg', [c.e.op('Mul', [x, x])])])]));

const relu: Rule = (c, grads) => [c.e.op('Where', [c.e.op('Greater', [c.input(0), c.e.scalar(0, c.floatType)]), only(grads), c.e.scalar(0, c.floatType)])];

/** Cast between float types: the cotangent is cast back to the input's type. */
const cast: Rule = (c, grads) => {
  const type = c.facts.type(c.input(0)) ?? c.floatType;
  return [c.e.op('Cast', [only(grads)], { to: { int: type } })];
};

/** Where(cond, a, b): the cotangent goes to the branch each element came from. */
const where: Rule = (c, grads) => {
  const g = only(grads);
  const zero = c.e.scalar(0, c.floatType);
  const cond = c.input(0);
  return [
    undefined,
    c.needs(1) ? c.e.unbroadcast(c.e.op('Where', [cond, g, zero]), c.input(1)) : undefined,
    c.needs(2) ? c.e.unbroadcast(c.e.op('Where', [cond, zero, g]), c.input(2)) : undefined,
  ];
};

/** Sum(x1, x2, ...): each operand gets the cotangent (reduced to its shape). */
const sum: Rule = (c, grads) => {
  const g = only(grads);
  return (c.node.input ?? []).map((name, i) => (c.needs(i) ? c.e.unbroadcast(g, name) : undefined));
};

export const ELEMENTWISE_RULES: Record<string, Rule> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Pow: pow,
  Neg: neg,
  Identity: identity,
  Sqrt: sqrt,
  Reciprocal: reciprocal,
  Exp: exp,
  Log: log,
  Sigmoid: sigmoid,
  Tanh: tanh,
  Erf: erf,
  Relu: relu,
  Cast: cast,
  Where: where,
  Sum: sum,
};
