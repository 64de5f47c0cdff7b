/** Sigma (noise-level) schedules for the Euler family and DPM-Solver, with diffusers' formulas. */
import { alphasCumprod, linspace, makeBetas, trainSigmas, type NoiseScheduleConfig } from './schedule.js';

/**
 * alphas_cumprod and the training sigmas of a sigma-based scheduler. With zero terminal SNR the last
 * alphas_cumprod becomes 2^-24 (diffusers' smallest fp16 subnormal) so that the largest sigma stays finite.
 */
export function sigmaTables(config: NoiseScheduleConfig): { alphasCumprod: Float64Array; trainSigmas: Float64Array } {
  const ac = alphasCumprod(makeBetas(config));
  if (config.rescale_betas_zero_snr) ac[ac.length - 1] = 2 ** -24;
  return { alphasCumprod: ac, trainSigmas: trainSigmas(ac) };
}

/** log of the training sigmas as float32 (for sigmaToT). */
export function logSigmas(trainSigmasValues: Float64Array): Float64Array {
  return trainSigmasValues.map((v) => Math.fround(Math.log(v)));
}

/** The inference sigmas plus the final one (0, or the smallest training sigma for 'sigma_min'), as float32. */
export function withFinalSigma(sigmas: readonly number[], trainSigmasValues: Float64Array, finalSigmasType: 'zero' | 'sigma_min' | undefined): number[] {
  const last = finalSigmasType === 'sigma_min' ? trainSigmasValues[0]! : 0;
  return [...sigmas, last].map(Math.fround);
}

/** Karras et al. (2022) sigmas, rho = 7, from sigmaMax down to sigmaMin in n values. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number): number[] {
  const rho = 7;
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return linspace(0, 1, n).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

/**
 * The (fractional) training timestep whose log-sigma matches `sigma`, by linear interpolation of the log sigmas, as
 * diffusers' `_sigma_to_t` computes it with numpy >= 2: in float64, except the difference of the two neighbouring
 * float32 log-sigmas, which numpy takes in float32.
 */
export function sigmaToT(sigma: number, logSigmas: Float64Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  const n = logSigmas.length;
  // numpy: cumsum(log_sigma - log_sigmas >= 0).argmax(), i.e. the last index whose log sigma is <= logSigma
  // (0 when none), capped at n - 2.
  let low = n - 1;
  while (low > 0 && !(logSigma - logSigmas[low]! >= 0)) low--;
  low = Math.min(low, n - 2);
  const lo = logSigmas[low]!;
  const w = Math.min(1, Math.max(0, (lo - logSigma) / Math.fround(lo - logSigmas[low + 1]!)));
  return (1 - w) * low + w * (low + 1);
}

/** alpha_t and sigma_t of a VP process at noise level sigma: alpha = 1/sqrt(sigma^2+1), sigma_t = sigma alpha. */
export function sigmaToAlphaSigma(sigma: number): [number, number] {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  return [alpha, sigma * alpha];
}
