/**
 * Summary statistics of the eval report: mean and a two-sided 95% confidence interval of the mean.
 *
 * Convention: Student's t interval, mean ± t(0.975, n−1) · s / √n with the sample standard deviation s
 * (n − 1 in the denominator). t(0.975, df) for df ≤ 100 comes from a table computed with scipy
 * (reference/t-quantiles.json, made by scripts/reference/t_quantiles.py); above 100 the Cornish–Fisher
 * expansion of t around the normal quantile is used (error < 1e-6 there). With one value there is no
 * interval (half-width NaN, shown as "n/a").
 */
import table from './reference/t-quantiles.json' with { type: 'json' };

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1). NaN when n < 2. */
  sd: number;
  /** Half-width of the 95% CI of the mean. NaN when n < 2. */
  ci95: number;
}

/** t(0.975, df): the two-sided 95% quantile of Student's t distribution. */
export function tQuantile975(df: number): number {
  if (!Number.isFinite(df) || df < 1) return NaN;
  const d = Math.floor(df);
  if (d <= table.df.length) return table.t[d - 1]!;
  const z = table.normal;
  return z + (z ** 3 + z) / (4 * d) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * d * d);
}

export function summarize(values: readonly number[]): Summary {
  const finite = values.filter((v) => Number.isFinite(v));
  const n = finite.length;
  if (n === 0) return { n, mean: NaN, sd: NaN, ci95: NaN };
  const mean = finite.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, sd: NaN, ci95: NaN };
  const variance = finite.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  const sd = Math.sqrt(variance);
  return { n, mean, sd, ci95: (tQuantile975(n - 1) * sd) / Math.sqrt(n) };
}

/** Relative change of `value` against `base` in percent ((value − base) / |base| · 100); NaN when base is 0. */
export function relativeChange(value: number, base: number): number {
  if (!Number.isFinite(value) || !Number.isFinite(base) || base === 0) return NaN;
  return ((value - base) / Math.abs(base)) * 100;
}
