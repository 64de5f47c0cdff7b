/**
 * Recommender metrics on scored rows (probabilities or any scores where higher means "more likely positive").
 *
 * - auc: area under the ROC curve = the Mann–Whitney statistic with ties counted ½ (average ranks), optionally with row
 *   weights (a row of weight m counts as m copies of itself). Equals scikit-learn's roc_auc_score (trapezoid ROC over
 *   distinct thresholds), checked against reference/rec-metrics.json.
 * - logLoss: mean −[y log p + (1 − y) log(1 − p)] with p clipped to [1e-7, 1 − 1e-7].
 * - gauc: per-user AUC over the users whose rows hold both labels, averaged with weights = their row counts.
 * - recallAtK / ndcgAtK: per user, the user's rows ranked by descending score; ties put negatives first (a model can
 *   never gain from a tie). Recall@K = relevant rows in the top K / relevant rows; NDCG@K = DCG@K / IDCG@K with binary
 *   gains, discount 1/log2(rank + 1) and IDCG over min(K, relevant) rows. Averaged over users with ≥ 1 relevant row.
 *
 * Users are small integers (indices into some user list). Every metric of an empty or one-class input is NaN.
 */

export const LOG_LOSS_CLIP = 1e-7;

/** Row indices grouped by user: rows of user u are rows[offsets[u]..offsets[u+1]), in input order. */
export interface UserGroups {
  users: number;
  offsets: Int32Array;
  rows: Int32Array;
}

export function groupByUser(users: ArrayLike<number>, userCount?: number): UserGroups {
  let count = userCount ?? 0;
  if (userCount === undefined) for (let i = 0; i < users.length; i++) count = Math.max(count, users[i]! + 1);
  const offsets = new Int32Array(count + 1);
  for (let i = 0; i < users.length; i++) offsets[users[i]! + 1]!++;
  for (let u = 0; u < count; u++) offsets[u + 1]! += offsets[u]!;
  const fill = offsets.slice(0, count);
  const rows = new Int32Array(users.length);
  for (let i = 0; i < users.length; i++) rows[fill[users[i]!]!++] = i;
  return { users: count, offsets, rows };
}

/** Row indices in ascending score order (ties in index order). */
export function ascendingOrder(scores: ArrayLike<number>, rows?: ArrayLike<number>): Int32Array {
  const order = rows ? Int32Array.from(rows as ArrayLike<number>) : Int32Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => scores[a]! - scores[b]! || a - b);
}

/**
 * Weighted AUC of the rows in `order` (ascending by score). Tied scores share a group: each positive of the group
 * counts the negative weight below the group plus half the group's own negative weight.
 */
export function aucOfOrder(order: ArrayLike<number>, scores: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): number {
  let negativesBelow = 0;
  let positives = 0;
  let area = 0;
  let i = 0;
  while (i < order.length) {
    const score = scores[order[i]!]!;
    let groupPositive = 0;
    let groupNegative = 0;
    do {
      const r = order[i]!;
      const w = weights ? weights[r]! : 1;
      if (labels[r]) groupPositive += w;
      else groupNegative += w;
      i++;
    } while (i < order.length && scores[order[i]!] === score);
    area += groupPositive * (negativesBelow + groupNegative / 2);
    negativesBelow += groupNegative;
    positives += groupPositive;
  }
  return positives > 0 && negativesBelow > 0 ? area / (positives * negativesBelow) : NaN;
}

export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): number {
  return aucOfOrder(ascendingOrder(scores), scores, labels, weights);
}

export function rowLogLoss(probability: number, label: number): number {
  const p = Math.min(Math.max(probability, LOG_LOSS_CLIP), 1 - LOG_LOSS_CLIP);
  return label ? -Math.log(p) : -Math.log(1 - p);
}

export function logLoss(probabilities: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): number {
  let sum = 0;
  let total = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const w = weights ? weights[i]! : 1;
    sum += w * rowLogLoss(probabilities[i]!, labels[i]!);
    total += w;
  }
  return total > 0 ? sum / total : NaN;
}

/** A per-user value with the weight it carries in the users' average (0: the user does not count). */
export interface PerUser {
  value: Float64Array;
  weight: Float64Array;
}

export function weightedMean(perUser: PerUser, multiplicity?: ArrayLike<number>): number {
  let sum = 0;
  let total = 0;
  for (let u = 0; u < perUser.value.length; u++) {
    const w = perUser.weight[u]! * (multiplicity ? multiplicity[u]! : 1);
    if (w === 0) continue;
    sum += w * perUser.value[u]!;
    total += w;
  }
  return total > 0 ? sum / total : NaN;
}

/** Each user's AUC, weighted by the user's row count when both labels occur (else weight 0). */
export function userAucs(scores: ArrayLike<number>, labels: ArrayLike<number>, groups: UserGroups): PerUser {
  const value = new Float64Array(groups.users);
  const weight = new Float64Array(groups.users);
  for (let u = 0; u < groups.users; u++) {
    const rows = groups.rows.subarray(groups.offsets[u]!, groups.offsets[u + 1]!);
    const a = aucOfOrder(ascendingOrder(scores, rows), scores, labels);
    if (Number.isNaN(a)) continue;
    value[u] = a;
    weight[u] = rows.length;
  }
  return { value, weight };
}

export function gauc(scores: ArrayLike<number>, labels: ArrayLike<number>, users: ArrayLike<number>): number {
  return weightedMean(userAucs(scores, labels, groupByUser(users)));
}

/** Each user's Recall@K and NDCG@K (weight 1 for users with ≥ 1 relevant row, else 0). */
export function userRanking(scores: ArrayLike<number>, labels: ArrayLike<number>, groups: UserGroups, k: number): { recall: PerUser; ndcg: PerUser } {
  const recall = new Float64Array(groups.users);
  const ndcg = new Float64Array(groups.users);
  const weight = new Float64Array(groups.users);
  for (let u = 0; u < groups.users; u++) {
    const rows = Array.from(groups.rows.subarray(groups.offsets[u]!, groups.offsets[u + 1]!));
    let relevant = 0;
    for (const r of rows) if (labels[r]) relevant++;
    if (relevant === 0) continue;
    rows.sort((a, b) => scores[b]! - scores[a]! || labels[a]! - labels[b]! || a - b);
    let hits = 0;
    let dcg = 0;
    for (let rank = 1; rank <= Math.min(k, rows.length); rank++) {
      if (!labels[rows[rank - 1]!]) continue;
      hits++;
      dcg += 1 / Math.log2(rank + 1);
    }
    let idcg = 0;
    for (let rank = 1; rank <= Math.min(k, relevant); rank++) idcg += 1 / Math.log2(rank + 1);
    recall[u] = hits / relevant;
    ndcg[u] = dcg / idcg;
    weight[u] = 1;
  }
  return { recall: { value: recall, weight }, ndcg: { value: ndcg, weight } };
}

export function recallAtK(scores: ArrayLike<number>, labels: ArrayLike<number>, users: ArrayLike<number>, k: number): number {
  return weightedMean(userRanking(scores, labels, groupByUser(users), k).recall);
}

export function ndcgAtK(scores: ArrayLike<number>, labels: ArrayLike<number>, users: ArrayLike<number>, k: number): number {
  return weightedMean(userRanking(scores, labels, groupByUser(users), k).ndcg);
}
