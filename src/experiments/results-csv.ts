/**
 * `results.csv`: one row per (sample, method, α), in a stable order (sample position, the run's method
 * order, α ascending) with stable columns, and numbers rounded to 7 significant digits, so two runs of the
 * same config compare byte for byte. Timings are left out (they differ run to run); they stay in run.sqlite.
 */
import { metricColumns, type EvalMetricName } from './eval-metrics.js';
import type { ResultRow, StoredSample } from './run-store.js';

export const FIXED_COLUMNS = ['sample', 'user', 'method', 'alpha', 'candidate', 'weight_preference', 'weight_target', 'dp', 'dt', 'z', 'image'] as const;

export function resultsCsv(rows: readonly ResultRow[], samples: readonly StoredSample[], metrics: readonly EvalMetricName[]): string {
  const users = new Map(samples.map((s) => [s.id, s.user]));
  const columns = metricColumns(metrics);
  const lines = [[...FIXED_COLUMNS, ...columns].join(',')];
  for (const row of rows) {
    const fields = [
      row.sampleId,
      users.get(row.sampleId) ?? '',
      row.method,
      row.alpha === null ? '' : formatNumber(row.alpha),
      String(row.candidate),
      formatNumber(row.weights.preference),
      formatNumber(row.weights.target),
      formatNumber(row.dp),
      formatNumber(row.dt),
      row.z === null ? '' : formatNumber(row.z),
      row.image,
      ...columns.map((c) => (row.metrics[c] === undefined ? '' : formatNumber(row.metrics[c]!))),
    ];
    lines.push(fields.map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** 7 significant digits, no exponent for ordinary magnitudes; empty for NaN/infinite. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '';
  return String(Number(value.toPrecision(7)));
}

export function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
