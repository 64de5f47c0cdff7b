/** Every vector-Jacobian rule by op type, and the ops whose outputs carry no gradient. */
import type { Rule } from './rule.js';
import { ELEMENTWISE_RULES } from './rules-elementwise.js';
import { INDEX_RULES } from './rules-index.js';
import { LINEAR_RULES } from './rules-linear.js';
import { CHANNEL_NORM_RULES, NORMALIZE_RULES } from './rules-normalize.js';
import { SHAPE_RULES } from './rules-shape.js';

export const RULES: Readonly<Record<string, Rule>> = {
  ...ELEMENTWISE_RULES,
  ...LINEAR_RULES,
  ...SHAPE_RULES,
  ...INDEX_RULES,
  ...NORMALIZE_RULES,
  ...CHANNEL_NORM_RULES,
};

/** Ops whose outputs are integers, booleans or constants: nothing flows back through them. */
export const NON_DIFFERENTIABLE = new Set([
  'Shape',
  'Size',
  'Constant',
  'ConstantOfShape',
  'Range',
  'NonZero',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'And',
  'Or',
  'Not',
  'Xor',
  'IsNaN',
  'IsInf',
  'ArgMax',
  'ArgMin',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'EyeLike',
  'RandomNormalLike',
  'RandomUniformLike',
  'Multinomial',
  'OneHot',
]);

/** The op types with a rule, for docs and messages. */
export function ruleOps(): string[] {
  return Object.keys(RULES).sort();
}
