/**
 * The downstream-recommendation experiment (issue 15): one factorization machine per feature set — same seed, same
 * hyperparameters, same rows — trained on the train rows with early stopping on the val rows, scored on the test rows
 * (AUC, log loss, GAUC) and on each test user's ranking list (test rows + sampled 'rank' rows: Recall@K, NDCG@K), and
 * compared with the 'none' set (ids + genres) and the 'random' control (when present) by a paired bootstrap over users.
 *
 * The result is plain JSON (undefined values are null), deterministic for a seed except the timings.
 */
import { PmgError } from '../errors/pmg-error.js';
import { bootstrapSamples, DEFAULT_BOOTSTRAP_RESAMPLES, pairedDifference, type BootstrapSamples, type DifferenceInterval } from './bootstrap.js';
import { encodeRecFeatures } from './feature-encoding.js';
import { trainFactorizationMachine, type FmEpoch } from './fm-training.js';
import { evaluationFrame, frameMetrics, HIGHER_IS_BETTER, REC_METRICS, scoreFrame, type RecMetricName, type ScoredFrame } from './rec-evaluation.js';
import type { FeatureSet, RecDataset, RecSelection, RecSplit } from './rec-types.js';

export interface RecModelOptions {
  seed: number;
  factors: number;
  epochs: number;
  patience: number;
  learningRate: number;
  l2: number;
  /** Ranking cutoff of Recall@K and NDCG@K. */
  k: number;
  /** Bootstrap resamples. */
  bootstrap: number;
  /**
   * Training runs per feature set (seeds seed … seed + replicates − 1). Metrics are their mean; the intervals resample
   * them too, so training noise cannot pass for a gain. Default 3.
   */
  replicates?: number;
}

export interface RecExperimentOptions extends RecModelOptions {
  onProgress?: (line: string) => void;
}

/** Defaults chosen on the validation log loss of ml-latest-small (src/rec/README.md). */
export const DEFAULT_REC_OPTIONS: Required<RecModelOptions> = {
  seed: 0,
  factors: 16,
  epochs: 40,
  patience: 3,
  learningRate: 0.05,
  l2: 3e-3,
  k: 10,
  bootstrap: DEFAULT_BOOTSTRAP_RESAMPLES,
  replicates: 3,
};

export const BASELINE_SET = 'none';
export const CONTROL_SET = 'random';

export type Significance = 'better' | 'worse' | 'none';

export interface RecDelta {
  observed: number | null;
  low: number | null;
  high: number | null;
  resamples: number;
  /** 'better' / 'worse' when the 95% interval excludes 0 (in the metric's good / bad direction). */
  significance: Significance;
}

export type RecMetricValues = Record<RecMetricName, number | null>;
export type RecDeltas = Record<RecMetricName, RecDelta>;

export interface RecSetResult {
  name: string;
  description: string;
  /** Width of the set's dense block (0 for ids + genres only). */
  denseWidth: number;
  /** Columns of the set's design (users + items + genres + dense). */
  columns: number;
  /** The first run's epochs (epochsRun, bestEpoch, epochs), ms per epoch over all runs, and every run in `replicates`. */
  training: { epochsRun: number; bestEpoch: number; msPerEpoch: number; epochs: FmEpoch[]; replicates: RecReplicate[] };
  metrics: RecMetricValues;
  /** Against the 'none' set (null for 'none' itself). */
  vsNone: RecDeltas | null;
  /** Against the 'random' control (null for the control itself, and when there is none). */
  vsRandom: RecDeltas | null;
}

/** One training run of a feature set. */
export interface RecReplicate {
  seed: number;
  epochsRun: number;
  bestEpoch: number;
  msPerEpoch: number;
  /** Test AUC of this run alone. */
  auc: number | null;
}

export interface RecDatasetStats {
  users: number;
  items: number;
  rows: Record<RecSplit, number>;
  positives: Record<'train' | 'val' | 'test', number>;
  /** Users with test or rank rows (the bootstrap resamples these). */
  evaluatedUsers: number;
  /** Users whose test rows hold both labels (the users GAUC averages over). */
  gaucUsers: number;
  /** Users with ≥ 1 liked test row (the users Recall/NDCG average over). */
  rankingUsers: number;
}

export interface RecReport {
  kind: 'pmg-rec-report';
  version: 1;
  selection: RecSelection;
  options: Required<RecModelOptions>;
  stats: RecDatasetStats;
  baseline: string;
  control: string | null;
  sets: RecSetResult[];
  /**
   * On AUC (95% interval of the difference above 0): the sets that beat the random control, those that beat 'none',
   * `helps` = those that beat both (the only evidence that features help), and the sentence the report prints.
   */
  conclusion: { helps: string[]; beatsControl: string[]; beatsBaseline: string[]; sentence: string };
}

export async function runRecExperiment(dataset: RecDataset, sets: FeatureSet[], options: RecExperimentOptions): Promise<RecReport> {
  checkSets(sets);
  if (!Number.isInteger(options.k) || options.k < 1) throw new PmgError('invalid-argument', `k must be a positive integer, got ${options.k}`);
  const progress = options.onProgress ?? (() => {});
  const rows = dataset.rows;
  const labels = Uint8Array.from(rows, (r) => r.label);
  const train = indicesOf(dataset, 'train');
  const val = indicesOf(dataset, 'val');
  const scored = Int32Array.from([...indicesOf(dataset, 'test'), ...indicesOf(dataset, 'rank')]);
  const frame = evaluationFrame(dataset, options.k);
  if (frame.testRows.length === 0) throw new PmgError('invalid-argument', 'the dataset has no test rows; choose more users or a larger test fraction');
  const modelOptions = pickModelOptions(options);

  const replicates = options.replicates ?? DEFAULT_REC_OPTIONS.replicates;
  if (!Number.isInteger(replicates) || replicates < 1) throw new PmgError('invalid-argument', `replicates must be a positive integer, got ${replicates}`);
  const results: RecSetResult[] = [];
  const samples = new Map<string, BootstrapSamples>();
  for (const [setIndex, set] of sets.entries()) {
    const design = encodeRecFeatures(dataset, set.dense);
    progress(`rec: ${set.name}: ${design.columns} columns (dense ${set.dense?.width ?? 0}), ${train.length} train rows, ${replicates} training run(s)`);
    const runs: RecReplicate[] = [];
    const scoredRuns: ScoredFrame[] = [];
    let first: FmEpoch[] = [];
    for (let replicate = 0; replicate < replicates; replicate++) {
      const seed = options.seed + replicate;
      const run = replicates > 1 ? ` run ${replicate + 1}/${replicates}` : '';
      const trained = await trainFactorizationMachine(design, labels, train, val, { ...modelOptions, seed }, (e) =>
        progress(
          `rec: ${set.name}${run}: epoch ${e.epoch}/${options.epochs} train loss ${e.trainLoss.toFixed(4)}${e.valLoss === null ? '' : ` val loss ${e.valLoss.toFixed(4)}`} (${Math.round(e.ms)} ms)`,
        ),
      );
      const probabilities = new Float64Array(rows.length).fill(NaN);
      const predicted = trained.model.predict(design, scored);
      scored.forEach((r, j) => (probabilities[r] = predicted[j]!));
      const scoredRun = scoreFrame(frame, probabilities);
      scoredRuns.push(scoredRun);
      if (replicate === 0) first = trained.epochs;
      runs.push({
        seed,
        epochsRun: trained.epochs.length,
        bestEpoch: trained.bestEpoch,
        msPerEpoch: trained.epochs.reduce((a, e) => a + e.ms, 0) / trained.epochs.length,
        auc: finite(frameMetrics(frame, scoredRun).auc),
      });
    }
    const sample = bootstrapSamples(frame, scoredRuns, {
      resamples: options.bootstrap,
      seed: options.seed,
      replicateSeed: options.seed + 7919 * (setIndex + 1),
    });
    samples.set(set.name, sample);
    const msPerEpoch = runs.reduce((a, r) => a + r.msPerEpoch, 0) / runs.length;
    results.push({
      name: set.name,
      description: set.description,
      denseWidth: set.dense?.width ?? 0,
      columns: design.columns,
      training: { epochsRun: runs[0]!.epochsRun, bestEpoch: runs[0]!.bestEpoch, msPerEpoch, epochs: first, replicates: runs },
      metrics: Object.fromEntries(REC_METRICS.map((m) => [m, finite(sample.observed[m])])) as RecMetricValues,
      vsNone: null,
      vsRandom: null,
    });
    progress(
      `rec: ${set.name}: AUC ${sample.observed.auc.toFixed(4)} (runs: ${runs.map((r) => r.auc?.toFixed(4) ?? 'n/a').join(', ')}; best epoch ${runs[0]!.bestEpoch}, ${Math.round(msPerEpoch)} ms/epoch)`,
    );
  }
  const control = sets.some((s) => s.name === CONTROL_SET) ? CONTROL_SET : null;
  for (const result of results) {
    const own = samples.get(result.name)!;
    if (result.name !== BASELINE_SET) result.vsNone = deltas(pairedDifference(own, samples.get(BASELINE_SET)!));
    if (control && result.name !== control) result.vsRandom = deltas(pairedDifference(own, samples.get(control)!));
  }
  return {
    kind: 'pmg-rec-report',
    version: 1,
    selection: dataset.selection,
    options: modelOptions,
    stats: datasetStats(dataset, frame.users.length),
    baseline: BASELINE_SET,
    control,
    sets: results,
    conclusion: recConclusion(results, control),
  };
}

/** The conclusion of a set of results, on AUC (exported for tests). */
export function recConclusion(results: RecSetResult[], control: string | null): RecReport['conclusion'] {
  const candidates = results.filter((r) => r.name !== BASELINE_SET && r.name !== control);
  const beatsBaseline = candidates.filter((r) => r.vsNone?.auc.significance === 'better').map((r) => r.name);
  const beatsControl = control ? candidates.filter((r) => r.vsRandom?.auc.significance === 'better').map((r) => r.name) : [];
  const helps = beatsControl.filter((name) => beatsBaseline.includes(name));
  const onlyControl = beatsControl.filter((name) => !helps.includes(name));
  const names = (list: string[]) => list.map((n) => `'${n}'`).join(', ');
  const verb = (list: string[], one: string, many: string) => (list.length === 1 ? one : many);
  let sentence: string;
  if (!control) {
    sentence =
      `There is no '${CONTROL_SET}' control in this run, so a gain over '${BASELINE_SET}' cannot be told apart from the effect of extra feature width` +
      (beatsBaseline.length ? ` (AUC above '${BASELINE_SET}': ${beatsBaseline.join(', ')}).` : '.');
  } else if (candidates.length === 0) {
    sentence = `No feature set besides '${BASELINE_SET}' and the '${control}' control was run.`;
  } else if (helps.length || onlyControl.length) {
    const parts: string[] = [];
    if (helps.length)
      parts.push(
        `${names(helps)} ${verb(helps, 'beats', 'beat')} both '${BASELINE_SET}' and the '${control}' control on AUC (95% paired-bootstrap intervals of both differences above 0)`,
      );
    if (onlyControl.length)
      parts.push(
        `${names(onlyControl)} ${verb(onlyControl, 'beats', 'beat')} the '${control}' control on AUC but not '${BASELINE_SET}': extra width costs accuracy here and the features only win part of it back, which is no gain over ids + genres`,
      );
    sentence = `${parts.join('; ')}.`;
  } else {
    sentence = `No feature set beats the '${control}' control on AUC: every 95% interval of the difference includes 0 or lies below it, so no gain can be credited to the generated features.`;
  }
  return { helps, beatsControl, beatsBaseline, sentence };
}

function deltas(intervals: Record<RecMetricName, DifferenceInterval>): RecDeltas {
  const out = {} as RecDeltas;
  for (const m of REC_METRICS) {
    const d = intervals[m];
    const up = HIGHER_IS_BETTER[m];
    const significance: Significance = d.low > 0 ? (up ? 'better' : 'worse') : d.high < 0 ? (up ? 'worse' : 'better') : 'none';
    out[m] = { observed: finite(d.observed), low: finite(d.low), high: finite(d.high), resamples: d.resamples, significance };
  }
  return out;
}

function datasetStats(dataset: RecDataset, evaluatedUsers: number): RecDatasetStats {
  const rows: Record<RecSplit, number> = { train: 0, val: 0, test: 0, rank: 0 };
  const positives = { train: 0, val: 0, test: 0 };
  const testLabels = new Map<string, number>();
  for (const row of dataset.rows) {
    rows[row.split]++;
    if (row.split !== 'rank' && row.label) positives[row.split]++;
    if (row.split === 'test') testLabels.set(row.user, (testLabels.get(row.user) ?? 0) | (row.label ? 2 : 1));
  }
  const flags = [...testLabels.values()];
  return {
    users: dataset.users.length,
    items: dataset.items.size,
    rows,
    positives,
    evaluatedUsers,
    gaucUsers: flags.filter((f) => f === 3).length,
    rankingUsers: flags.filter((f) => f & 2).length,
  };
}

function checkSets(sets: FeatureSet[]): void {
  const names = new Set<string>();
  for (const set of sets) {
    if (!set.name) throw new PmgError('invalid-argument', 'a feature set has an empty name');
    if (names.has(set.name)) throw new PmgError('invalid-argument', `feature set '${set.name}' is listed twice`);
    names.add(set.name);
  }
  if (!names.has(BASELINE_SET))
    throw new PmgError('invalid-argument', `the feature sets must include '${BASELINE_SET}' (ids + genres), the baseline every set is compared with`);
}

function indicesOf(dataset: RecDataset, split: RecSplit): Int32Array {
  const out: number[] = [];
  dataset.rows.forEach((row, r) => row.split === split && out.push(r));
  return Int32Array.from(out);
}

function pickModelOptions(options: RecExperimentOptions): Required<RecModelOptions> {
  const { seed, factors, epochs, patience, learningRate, l2, k, bootstrap } = options;
  return { seed, factors, epochs, patience, learningRate, l2, k, bootstrap, replicates: options.replicates ?? DEFAULT_REC_OPTIONS.replicates };
}

function finite(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
