/**
 * `--objective text-fit`: a TEXT-SPACE fit of the map, not the diffusion-loss branch. Closed-form ridge regression
 * of the map onto the generator text encoder's states of each sample's target text: every soft row r of a sample
 * (LLM states h_r) is fitted to the mean of the target prompt's token states (start to end token), minimising
 * Σ‖W·h_r + b − y‖² + λ‖W‖² (b unpenalised): with centred H and Y, Wᵀ = (HᵀH + λI)⁻¹·HᵀY and b = ȳ − W·h̄, solved in
 * float64 by Cholesky (core/cholesky.ts). It needs no gradients.
 */
import { choleskyLower } from '../core/cholesky.js';
import { PmgError } from '../errors/pmg-error.js';

/** rows: hidden-state rows [count, hidden] and their targets [count, width]. */
export function ridgeMap(states: Float32Array, targets: Float32Array, count: number, lambda: number): { weight: Float32Array; bias: Float32Array } {
  if (count === 0) throw new PmgError('invalid-input', 'text-fit needs at least one training sample');
  const hidden = states.length / count;
  const width = targets.length / count;
  const meanH = new Float64Array(hidden);
  const meanY = new Float64Array(width);
  for (let r = 0; r < count; r++) {
    for (let i = 0; i < hidden; i++) meanH[i] = meanH[i]! + states[r * hidden + i]! / count;
    for (let j = 0; j < width; j++) meanY[j] = meanY[j]! + targets[r * width + j]! / count;
  }
  const gram = new Float64Array(hidden * hidden);
  const cross = new Float64Array(hidden * width);
  const h = new Float64Array(hidden);
  for (let r = 0; r < count; r++) {
    for (let i = 0; i < hidden; i++) h[i] = states[r * hidden + i]! - meanH[i]!;
    for (let i = 0; i < hidden; i++) {
      for (let k = 0; k <= i; k++) gram[i * hidden + k] = gram[i * hidden + k]! + h[i]! * h[k]!;
      for (let j = 0; j < width; j++) cross[i * width + j] = cross[i * width + j]! + h[i]! * (targets[r * width + j]! - meanY[j]!);
    }
  }
  for (let i = 0; i < hidden; i++) {
    gram[i * hidden + i] = gram[i * hidden + i]! + lambda;
    for (let k = 0; k < i; k++) gram[k * hidden + i] = gram[i * hidden + k]!;
  }
  const l = choleskyLower(gram, hidden);
  if (!l) throw new PmgError('invalid-argument', `text-fit: the ridge system is not positive definite; use a larger ridge λ (got ${lambda})`);
  // Solve L·Lᵀ·X = cross for X [hidden, width] (X = Wᵀ), column block by forward then back substitution.
  const x = Float64Array.from(cross);
  for (let i = 0; i < hidden; i++) {
    for (let k = 0; k < i; k++) {
      const f = l[i * hidden + k]!;
      if (f !== 0) for (let j = 0; j < width; j++) x[i * width + j] = x[i * width + j]! - f * x[k * width + j]!;
    }
    const d = l[i * hidden + i]!;
    for (let j = 0; j < width; j++) x[i * width + j] = x[i * width + j]! / d;
  }
  for (let i = hidden - 1; i >= 0; i--) {
    for (let k = i + 1; k < hidden; k++) {
      const f = l[k * hidden + i]!;
      if (f !== 0) for (let j = 0; j < width; j++) x[i * width + j] = x[i * width + j]! - f * x[k * width + j]!;
    }
    const d = l[i * hidden + i]!;
    for (let j = 0; j < width; j++) x[i * width + j] = x[i * width + j]! / d;
  }
  const weight = new Float32Array(width * hidden);
  const bias = new Float32Array(width);
  for (let j = 0; j < width; j++) {
    let b = meanY[j]!;
    for (let i = 0; i < hidden; i++) {
      weight[j * hidden + i] = x[i * width + j]!;
      b -= x[i * width + j]! * meanH[i]!;
    }
    bias[j] = b;
  }
  return { weight, bias };
}

/**
 * The regression rows of a set of samples: every soft row r of a sample (its LLM states, `softStates` [N, hidden])
 * paired with the mean of the target prompt's token states from the start token to the end token (`targetTokens`
 * positions of `targetStates`).
 */
export function textFitTargets(
  samples: readonly { softStates?: Float32Array; targetStates: { data: Float32Array; dims: number[] }; targetTokens?: number }[],
  N: number,
): { states: Float32Array; targets: Float32Array; count: number } {
  if (samples.length === 0) throw new PmgError('invalid-input', 'text-fit needs at least one training sample');
  const width = samples[0]!.targetStates.dims.at(-1)!;
  const hidden = samples[0]!.softStates!.length / N;
  const count = samples.length * N;
  const states = new Float32Array(count * hidden);
  const targets = new Float32Array(count * width);
  samples.forEach((s, k) => {
    const tokens = Math.max(1, Math.min(s.targetTokens ?? s.targetStates.dims.at(-2)!, s.targetStates.dims.at(-2)!));
    const mean = new Float32Array(width);
    for (let t = 0; t < tokens; t++) for (let j = 0; j < width; j++) mean[j] = mean[j]! + s.targetStates.data[t * width + j]! / tokens;
    for (let r = 0; r < N; r++) {
      states.set(s.softStates!.subarray(r * hidden, (r + 1) * hidden), (k * N + r) * hidden);
      targets.set(mean, (k * N + r) * width);
    }
  });
  return { states, targets, count };
}
