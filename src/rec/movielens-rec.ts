/**
 * The rows of the downstream-recommendation experiment (issue 15) from MovieLens: which users and items take
 * part, each (user, item) rating as a labelled row, a per-user time split, and sampled ranking negatives.
 *
 * 1. Users: all of them, or `users` drawn at random (the ids sorted, Fisher–Yates shuffled by SeededRandom(seed),
 *    the first N kept).
 * 2. Items: every item those users rated, or the `items` most-rated among their ratings (count descending, ties by
 *    id). Rows are those users' ratings of those items (a repeated rating of one item: the latest counts).
 * 3. Label: rating >= POSITIVE_RATING (4) → 1, else 0.
 * 4. Per-user time split: the user's rows sorted by (timestamp, item id); the last ceil(testFraction·n) are test,
 *    the ceil(valFraction·n) before them val, the rest train (at least one train row). Users with fewer than 3
 *    rows: all train. Users with fewer than 2 train positives are dropped and counted: each row's image is
 *    generated from a history of the user's other positives (rec-plan.ts), which a user with one train positive
 *    lacks for that row without borrowing a val/test label.
 * 5. Ranking: for each user with at least one test positive, `negatives` items drawn without replacement (seeded
 *    per user, so independent of which other users take part) from the selected items the user never rated
 *    (in the whole ratings file), as 'rank' rows with label 0 and time 0.
 * Rows come user by user (ascending id), each user's rated rows in time order, then their rank rows.
 */
import { SeededRandom } from '../core/random.js';
import { PmgError } from '../errors/pmg-error.js';
import { compareIds, POSITIVE_RATING, type MovieLensData, type Rating } from '../data/movielens.js';
import { seedFor } from '../data/protocol.js';
import type { RecDataset, RecItem, RecRow, RecSelection, RecSplit } from './rec-types.js';

/** Users with fewer rated rows than this keep them all in train. */
export const MIN_SPLIT_ROWS = 3;
/** Users need this many train positives (a history for every row, rec-plan.ts). */
export const MIN_TRAIN_POSITIVES = 2;

export const DEFAULT_REC_SELECTION: Readonly<RecSelection> = { dataset: 'movielens', seed: 0, negatives: 50, valFraction: 0.1, testFraction: 0.2 };

/** What the selection produced, for the plan, the CLI and the report. */
export interface RecSelectionStats {
  users: number;
  items: number;
  rows: Record<RecSplit, number>;
  positives: Record<RecSplit, number>;
  /** Positive share of the rated rows (train + val + test). */
  positiveRate: number;
  /** Ids of the users dropped, by reason ('no-rows-on-selected-items', 'fewer-than-2-train-positives'). */
  droppedUsers: Record<string, string[]>;
  /** Users kept whose rows all went to train (fewer than MIN_SPLIT_ROWS rows). */
  allTrainUsers: number;
  /** Kept users with no test positive (no ranking list). */
  usersWithoutRanking: number;
  /** Ranking lists shorter than `negatives` (the user rated almost every selected item). */
  shortRankingLists: number;
}

export interface RecData {
  dataset: RecDataset;
  stats: RecSelectionStats;
}

export function movieLensRecDataset(data: MovieLensData, selection: RecSelection): RecDataset {
  return movieLensRecData(data, selection).dataset;
}

export function checkRecSelection(selection: RecSelection): void {
  const positive = (name: 'users' | 'items') => {
    const v = selection[name];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1))
      throw new PmgError('invalid-argument', `${name} must be a positive integer, got ${v}`, { details: { field: name } });
  };
  positive('users');
  positive('items');
  if (!Number.isSafeInteger(selection.seed) || selection.seed < 0)
    throw new PmgError('invalid-argument', `seed must be a non-negative integer, got ${selection.seed}`, { details: { field: 'seed' } });
  if (!Number.isSafeInteger(selection.negatives) || selection.negatives < 0)
    throw new PmgError('invalid-argument', `negatives must be a non-negative integer, got ${selection.negatives}`, { details: { field: 'negatives' } });
  for (const name of ['valFraction', 'testFraction'] as const) {
    const v = selection[name];
    if (!Number.isFinite(v) || v <= 0 || v >= 0.5)
      throw new PmgError('invalid-argument', `${name} must be a number above 0 and below 0.5, got ${v}`, { details: { field: name } });
  }
}

export function movieLensRecData(data: MovieLensData, selection: RecSelection): RecData {
  checkRecSelection(selection);
  const dropped: Record<string, string[]> = {};
  const drop = (reason: string, user: string) => (dropped[reason] ??= []).push(user);

  const users = pickUsers(data.users, selection.users, selection.seed);
  const itemIds = pickItems(data, users, selection.items);
  const selected = new Set(itemIds);

  const rows: RecRow[] = [];
  const keptUsers: string[] = [];
  const usedItems = new Set<string>();
  let allTrainUsers = 0;
  let usersWithoutRanking = 0;
  let shortRankingLists = 0;
  for (const user of users) {
    const rated = latestRatings(data.ratings.get(user) ?? []).filter((r) => selected.has(r.movieId));
    if (rated.length === 0) {
      drop('no-rows-on-selected-items', user);
      continue;
    }
    rated.sort((a, b) => a.timestamp - b.timestamp || compareIds(a.movieId, b.movieId));
    const splits = timeSplit(rated.length, selection);
    const userRows: RecRow[] = rated.map((r, i) => ({
      user,
      item: r.movieId,
      label: r.rating >= POSITIVE_RATING ? 1 : 0,
      time: r.timestamp,
      split: splits[i]!,
    }));
    if (userRows.filter((r) => r.split === 'train' && r.label === 1).length < MIN_TRAIN_POSITIVES) {
      drop(`fewer-than-${MIN_TRAIN_POSITIVES}-train-positives`, user);
      continue;
    }
    if (rated.length < MIN_SPLIT_ROWS) allTrainUsers++;
    keptUsers.push(user);
    rows.push(...userRows);
    for (const r of userRows) usedItems.add(r.item);
    if (!userRows.some((r) => r.split === 'test' && r.label === 1)) {
      usersWithoutRanking++;
      continue;
    }
    const everRated = new Set((data.ratings.get(user) ?? []).map((r) => r.movieId));
    const candidates = itemIds.filter((id) => !everRated.has(id));
    const negatives = sampleWithoutReplacement(candidates, selection.negatives, new SeededRandom(seedFor(selection.seed, `rank:${user}`)));
    if (negatives.length < selection.negatives) shortRankingLists++;
    for (const item of negatives) {
      rows.push({ user, item, label: 0, time: 0, split: 'rank' });
      usedItems.add(item);
    }
  }

  const items = new Map<string, RecItem>();
  for (const id of itemIds) {
    if (!usedItems.has(id)) continue;
    const movie = data.movies.get(id)!;
    items.set(id, { id, title: movie.title, ...(movie.year !== undefined ? { year: movie.year } : {}), genres: [...movie.genres] });
  }
  const dataset: RecDataset = { selection: { ...selection }, rows, items, users: keptUsers };
  return {
    dataset,
    stats: { ...rowStats(rows), users: keptUsers.length, items: items.size, droppedUsers: dropped, allTrainUsers, usersWithoutRanking, shortRankingLists },
  };
}

function rowStats(rows: readonly RecRow[]): Pick<RecSelectionStats, 'rows' | 'positives' | 'positiveRate'> {
  const counts: Record<RecSplit, number> = { train: 0, val: 0, test: 0, rank: 0 };
  const positives: Record<RecSplit, number> = { train: 0, val: 0, test: 0, rank: 0 };
  for (const row of rows) {
    counts[row.split]++;
    positives[row.split] += row.label;
  }
  const rated = counts.train + counts.val + counts.test;
  return { rows: counts, positives, positiveRate: rated ? (positives.train + positives.val + positives.test) / rated : 0 };
}

/** All users, or `count` of them at random (seeded), in ascending id order. */
function pickUsers(all: readonly string[], count: number | undefined, seed: number): string[] {
  if (count === undefined || count >= all.length) return [...all];
  const order = [...all].sort(compareIds);
  sampleInPlace(order, count, new SeededRandom(seed));
  return order.slice(0, count).sort(compareIds);
}

/** Every item the users rated, or the `count` most-rated among them (ties by id), in ascending id order. */
function pickItems(data: MovieLensData, users: readonly string[], count: number | undefined): string[] {
  const ratedBy = new Map<string, number>();
  for (const user of users) for (const r of latestRatings(data.ratings.get(user) ?? [])) ratedBy.set(r.movieId, (ratedBy.get(r.movieId) ?? 0) + 1);
  let ids = [...ratedBy.keys()];
  if (count !== undefined && count < ids.length) ids = ids.sort((a, b) => ratedBy.get(b)! - ratedBy.get(a)! || compareIds(a, b)).slice(0, count);
  return ids.sort(compareIds);
}

/** One rating per item: the latest (a later row of the file wins a tie). */
function latestRatings(ratings: readonly Rating[]): Rating[] {
  const byItem = new Map<string, Rating>();
  for (const r of ratings) {
    const seen = byItem.get(r.movieId);
    if (!seen || r.timestamp >= seen.timestamp) byItem.set(r.movieId, r);
  }
  return [...byItem.values()];
}

/** The split of each of n time-ordered rows. */
export function timeSplit(n: number, selection: Pick<RecSelection, 'valFraction' | 'testFraction'>): RecSplit[] {
  if (n < MIN_SPLIT_ROWS) return new Array<RecSplit>(n).fill('train');
  const test = Math.min(Math.ceil(selection.testFraction * n), n - 2);
  const val = Math.min(Math.ceil(selection.valFraction * n), n - 1 - test);
  return Array.from({ length: n }, (_, i) => (i >= n - test ? 'test' : i >= n - test - val ? 'val' : 'train'));
}

/** The first `count` places of `items` become a uniform random sample (partial Fisher–Yates). */
function sampleInPlace<T>(items: T[], count: number, random: SeededRandom): void {
  for (let i = 0; i < Math.min(count, items.length - 1); i++) {
    const j = i + Math.floor(random.nextFloat() * (items.length - i));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

function sampleWithoutReplacement<T>(items: readonly T[], count: number, random: SeededRandom): T[] {
  const copy = [...items];
  sampleInPlace(copy, count, random);
  return copy.slice(0, Math.min(count, copy.length));
}
