/**
 * Paired bootstrap over users (Efron & Tibshirani's percentile interval), with training replicates.
 *
 * Each of B resamples draws as many users as the frame has, with replacement, from SeededRandom(seed); every model is
 * scored on the same multisets (the draws depend only on the seed and the user count), so the difference of two models
 * on a resample is paired over users.
 *
 * A model trained R times (seeds seed … seed + R − 1) is one feature set with training noise: on each resample the set's
 * metric is the mean over R replicates drawn with replacement (from the set's own stream, `replicateSeed`), so the
 * interval also covers the spread between training runs. With R = 1 this is the plain paired bootstrap. The observed
 * value is the mean over the replicates on all users.
 *
 * The interval is the 2.5th and 97.5th percentile of the B differences (linear interpolation between order statistics,
 * numpy's default). Resamples where a metric is undefined (NaN, e.g. no user with both labels) are left out of that
 * metric's percentiles.
 */
import { SeededRandom } from '../core/random.js';
import { PmgError } from '../errors/pmg-error.js';
import { REC_METRICS, frameMetrics, type EvaluationFrame, type RecMetricName, type RecMetrics, type ScoredFrame } from './rec-evaluation.js';

export const DEFAULT_BOOTSTRAP_RESAMPLES = 1000;

export interface BootstrapOptions {
  resamples: number;
  /** Seed of the user draws: equal for every model compared. */
  seed: number;
  /** Seed of the replicate draws (only used with several replicates): different for every model compared. */
  replicateSeed?: number;
}

/** A model's metric on every resample, and on all users. */
export interface BootstrapSamples {
  observed: RecMetrics;
  resamples: Record<RecMetricName, Float64Array>;
}

export interface DifferenceInterval {
  /** model − baseline on all users. */
  observed: number;
  /** 2.5th percentile of the resampled differences. */
  low: number;
  /** 97.5th percentile. */
  high: number;
  /** Resamples on which the difference was defined. */
  resamples: number;
}

/** `replicates`: the same model trained with different seeds, scored on the same frame (at least one). */
export function bootstrapSamples(frame: EvaluationFrame, replicates: readonly ScoredFrame[], options: BootstrapOptions): BootstrapSamples {
  if (!Number.isInteger(options.resamples) || options.resamples < 1)
    throw new PmgError('invalid-argument', `bootstrap resamples must be a positive integer, got ${options.resamples}`);
  if (replicates.length === 0) throw new PmgError('internal', 'bootstrapSamples needs at least one scored replicate');
  const random = new SeededRandom(options.seed);
  const replicateRandom = new SeededRandom(options.replicateSeed ?? options.seed);
  const users = frame.users.length;
  const R = replicates.length;
  const multiplicity = new Float64Array(users);
  const testWeights = new Float64Array(frame.testRows.length);
  const drawn = new Int32Array(R);
  const resamples = Object.fromEntries(REC_METRICS.map((m) => [m, new Float64Array(options.resamples)])) as Record<RecMetricName, Float64Array>;
  for (let b = 0; b < options.resamples; b++) {
    multiplicity.fill(0);
    for (let draw = 0; draw < users; draw++) multiplicity[Math.floor(random.nextFloat() * users)]!++;
    for (let j = 0; j < testWeights.length; j++) testWeights[j] = multiplicity[frame.testUser[j]!]!;
    drawn.fill(0);
    if (R === 1) drawn[0] = 1;
    else for (let draw = 0; draw < R; draw++) drawn[Math.floor(replicateRandom.nextFloat() * R)]!++;
    for (const m of REC_METRICS) resamples[m][b] = 0;
    for (let r = 0; r < R; r++) {
      if (drawn[r] === 0) continue;
      const metrics = frameMetrics(frame, replicates[r]!, multiplicity, testWeights);
      for (const m of REC_METRICS) resamples[m][b]! += (drawn[r]! * metrics[m]) / R;
    }
  }
  const observed = Object.fromEntries(REC_METRICS.map((m) => [m, 0])) as RecMetrics;
  for (const scored of replicates) {
    const metrics = frameMetrics(frame, scored);
    for (const m of REC_METRICS) observed[m] += metrics[m] / R;
  }
  return { observed, resamples };
}

/** model − baseline per metric, with the 95% percentile interval of the paired resampled differences. */
export function pairedDifference(model: BootstrapSamples, baseline: BootstrapSamples): Record<RecMetricName, DifferenceInterval> {
  const out = {} as Record<RecMetricName, DifferenceInterval>;
  for (const m of REC_METRICS) {
    const a = model.resamples[m];
    const b = baseline.resamples[m];
    if (a.length !== b.length) throw new PmgError('internal', `bootstrap samples differ in length (${a.length} vs ${b.length}) for ${m}`);
    const differences: number[] = [];
    for (let i = 0; i < a.length; i++) {
      const d = a[i]! - b[i]!;
      if (Number.isFinite(d)) differences.push(d);
    }
    differences.sort((x, y) => x - y);
    out[m] = {
      observed: model.observed[m] - baseline.observed[m],
      low: percentile(differences, 2.5),
      high: percentile(differences, 97.5),
      resamples: differences.length,
    };
  }
  return out;
}

/** The q-th percentile (0–100) of ascending `sorted`, interpolating linearly (numpy's default); NaN when empty. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
