/** The q-quantile of timings (0 ≤ q ≤ 1) by the nearest-rank method: the smallest value with at least q of them at or below it. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
