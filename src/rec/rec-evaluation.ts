/**
 * The evaluation of one trained model on a dataset's held-out rows, in the form the paired bootstrap needs.
 *
 * - AUC, log loss and GAUC are computed on the 'test' rows (rated items after each user's time split, label = liked).
 * - Recall@K and NDCG@K rank, per user, the user's 'test' rows together with the user's sampled unrated 'rank' rows
 *   (label 0); the relevant rows are the liked test rows.
 *
 * Every metric is a function of per-user parts, so a multiset of users (a bootstrap resample, `multiplicity[u]` copies
 * of user u) is scored without copying rows: AUC weights each test row by its user's multiplicity over one pre-sorted
 * order; the others are weighted means of per-user values.
 */
import { ascendingOrder, aucOfOrder, groupByUser, rowLogLoss, userAucs, userRanking, weightedMean, type PerUser, type UserGroups } from './rec-metrics.js';
import type { RecDataset } from './rec-types.js';

export const REC_METRICS = ['auc', 'logLoss', 'gauc', 'recall', 'ndcg'] as const;
export type RecMetricName = (typeof REC_METRICS)[number];
export type RecMetrics = Record<RecMetricName, number>;

export const HIGHER_IS_BETTER: Record<RecMetricName, boolean> = { auc: true, logLoss: false, gauc: true, recall: true, ndcg: true };

export interface EvaluationFrame {
  k: number;
  /** Users with test or rank rows; a user's index in this list is the user number below. */
  users: string[];
  /** Dataset row indices of the test rows, with their user numbers and labels. */
  testRows: Int32Array;
  testUser: Int32Array;
  testLabel: Uint8Array;
  testGroups: UserGroups;
  /** Dataset row indices of the ranking lists (test + rank rows), with user numbers and labels. */
  listRows: Int32Array;
  listUser: Int32Array;
  listLabel: Uint8Array;
  listGroups: UserGroups;
}

export function evaluationFrame(dataset: RecDataset, k: number): EvaluationFrame {
  const userNumber = new Map<string, number>();
  const test: number[] = [];
  const list: number[] = [];
  dataset.rows.forEach((row, r) => {
    if (row.split !== 'test' && row.split !== 'rank') return;
    if (!userNumber.has(row.user)) userNumber.set(row.user, userNumber.size);
    if (row.split === 'test') test.push(r);
    list.push(r);
  });
  const users = [...userNumber.keys()];
  const part = (rows: number[]) => {
    const userOf = Int32Array.from(rows, (r) => userNumber.get(dataset.rows[r]!.user)!);
    // 'rank' rows are unrated sampled items: never relevant, whatever their label field says.
    const labelOf = Uint8Array.from(rows, (r) => (dataset.rows[r]!.split === 'test' ? dataset.rows[r]!.label : 0));
    return { rows: Int32Array.from(rows), user: userOf, label: labelOf, groups: groupByUser(userOf, users.length) };
  };
  const t = part(test);
  const l = part(list);
  return {
    k,
    users,
    testRows: t.rows,
    testUser: t.user,
    testLabel: t.label,
    testGroups: t.groups,
    listRows: l.rows,
    listUser: l.user,
    listLabel: l.label,
    listGroups: l.groups,
  };
}

/** One model's scores on a frame, with the per-user parts of every metric computed once. */
export interface ScoredFrame {
  testScores: Float64Array;
  /** Test-row positions in ascending score order. */
  order: Int32Array;
  /** Per user: sum of the test rows' log losses (value) over the user's test-row count (weight). */
  logLoss: PerUser;
  aucs: PerUser;
  recall: PerUser;
  ndcg: PerUser;
}

/** `scores[r]` is the model's probability for dataset row r (only test and rank rows are read). */
export function scoreFrame(frame: EvaluationFrame, scores: ArrayLike<number>): ScoredFrame {
  const testScores = Float64Array.from(frame.testRows, (r) => scores[r]!);
  const listScores = Float64Array.from(frame.listRows, (r) => scores[r]!);
  const lossSum = new Float64Array(frame.users.length);
  const count = new Float64Array(frame.users.length);
  for (let j = 0; j < testScores.length; j++) {
    lossSum[frame.testUser[j]!]! += rowLogLoss(testScores[j]!, frame.testLabel[j]!);
    count[frame.testUser[j]!]!++;
  }
  // weightedMean computes Σ w·v / Σ w; with v = mean loss of the user and w = row count that is Σ loss / Σ rows.
  const meanLoss = lossSum.map((s, u) => (count[u]! > 0 ? s / count[u]! : 0));
  const { recall, ndcg } = userRanking(listScores, frame.listLabel, frame.listGroups, frame.k);
  return {
    testScores,
    order: ascendingOrder(testScores),
    logLoss: { value: meanLoss, weight: count },
    aucs: userAucs(testScores, frame.testLabel, frame.testGroups),
    recall,
    ndcg,
  };
}

/**
 * The metrics of a scored frame on a multiset of users (`multiplicity[u]` copies of user u; all users once when omitted).
 * `testWeights[j]` must then be the multiplicity of test row j's user (scratch the caller reuses).
 */
export function frameMetrics(frame: EvaluationFrame, scored: ScoredFrame, multiplicity?: ArrayLike<number>, testWeights?: ArrayLike<number>): RecMetrics {
  return {
    auc: aucOfOrder(scored.order, scored.testScores, frame.testLabel, multiplicity ? testWeights : undefined),
    logLoss: weightedMean(scored.logLoss, multiplicity),
    gauc: weightedMean(scored.aucs, multiplicity),
    recall: weightedMean(scored.recall, multiplicity),
    ndcg: weightedMean(scored.ndcg, multiplicity),
  };
}
