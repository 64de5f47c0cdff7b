/**
 * AdamW (Loshchilov & Hutter, decoupled weight decay) over named float32 parameters, with torch.optim.AdamW's
 * arithmetic (torch 1.13, `_single_tensor_adamw`, amsgrad off), each step in float32 as torch does it on CPU:
 *   step += 1
 *   p ← p · (1 − lr·λ)
 *   m ← β1·m + (1 − β1)·g
 *   v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1^step)) · m / (√v / √(1 − β2^step) + ε)
 * Checked against values torch itself produced (src/training/reference/, scripts/reference/adamw_schedule.py).
 */
import { PmgError } from '../errors/pmg-error.js';

const f32 = Math.fround;

export interface AdamWSettings {
  /** Betas (torch default 0.9, 0.999). */
  beta1: number;
  beta2: number;
  /** Denominator epsilon (torch default 1e-8). */
  eps: number;
  /** Decoupled weight decay λ (torch default 1e-2). */
  weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWSettings = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2 };

/** Optimiser state of one parameter: first and second moments. */
export interface AdamWSlot {
  m: Float32Array;
  v: Float32Array;
}

/** The whole optimiser state: the step count and one slot per parameter name (what a checkpoint stores). */
export interface AdamWState {
  step: number;
  slots: Record<string, AdamWSlot>;
}

export function newAdamWState(params: Readonly<Record<string, Float32Array>>): AdamWState {
  const slots: Record<string, AdamWSlot> = {};
  for (const [name, p] of Object.entries(params)) slots[name] = { m: new Float32Array(p.length), v: new Float32Array(p.length) };
  return { step: 0, slots };
}

/** One update of every parameter that has a gradient, in place, at learning rate `lr`. */
export function adamwStep(
  params: Record<string, Float32Array>,
  grads: Readonly<Record<string, Float32Array>>,
  state: AdamWState,
  lr: number,
  settings: AdamWSettings = ADAMW_DEFAULTS,
): void {
  state.step += 1;
  const { beta1, beta2, eps, weightDecay } = settings;
  const decay = f32(1 - lr * weightDecay);
  const b1 = f32(beta1);
  const b2 = f32(beta2);
  const oneMinusB1 = f32(1 - beta1);
  const oneMinusB2 = f32(1 - beta2);
  const stepSize = f32(lr / (1 - beta1 ** state.step));
  const correction2Sqrt = f32(Math.sqrt(1 - beta2 ** state.step));
  const epsilon = f32(eps);
  for (const [name, g] of Object.entries(grads)) {
    const p = params[name];
    const slot = state.slots[name];
    if (!p || !slot) throw new PmgError('internal', `AdamW: no parameter or state named '${name}'`);
    if (g.length !== p.length) throw new PmgError('internal', `AdamW: gradient of '${name}' has ${g.length} values, the parameter ${p.length}`);
    const { m, v } = slot;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]!;
      p[i] = f32(p[i]! * decay);
      m[i] = f32(f32(m[i]! * b1) + f32(gi * oneMinusB1));
      v[i] = f32(f32(v[i]! * b2) + f32(f32(gi * gi) * oneMinusB2));
      const denom = f32(f32(f32(Math.sqrt(v[i]!)) / correction2Sqrt) + epsilon);
      p[i] = f32(p[i]! - f32(stepSize * f32(m[i]! / denom)));
    }
  }
}
