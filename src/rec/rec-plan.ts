/**
 * `pmg rec plan`: the list of (user, item) rows that need a generated image, as eval samples (issue 15's leakage
 * rule: EVERY scored row — positives, negatives and the ranking list's sampled items — gets an image, so an image's
 * existence says nothing about the label).
 *
 * One sample per row (rows are distinct (user, item) pairs), id `rec-u<user>-i<item>`:
 * - target: the item (title, genres, keywords) — the same text whatever the label;
 * - history: the user's positive rows strictly before the row's time, the last 5 (`--history`) by time (oldest first). For 'rank'
 *   rows (no time) and rows with no positive before them: the user's train positives other than the item, the last 5.
 *   Every kept user has at least 2 train positives (movielens-rec.ts), so no history is empty.
 * - split: the row's split ('rank' rows are scored with the test users: 'test').
 * The plan (plan.json) records the selection, the counts and a SHA-256 of the row list, so features made from a run
 * of another plan are refused (generated-features.ts).
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { jsonFileText, writeFilesAtomicSync } from '../core/atomic-write.js';
import { movieItem, type MovieLensData } from '../data/movielens.js';
import { itemSample } from '../data/protocol.js';
import type { Sample } from '../spec/behaviour.js';
import type { RecSelectionStats } from './movielens-rec.js';
import type { RecDataset, RecRow, RecSelection } from './rec-types.js';

export const PLAN_FILE = 'plan.json';
export const PLAN_SAMPLES_FILE = 'samples.jsonl';
/** History items per sample by default (the window protocols' 5). */
export const PLAN_HISTORY = 5;

export interface RecPlan {
  kind: 'pmg-rec-plan';
  version: 1;
  /** The MovieLens folder the rows come from (absolute). */
  data: string;
  selection: RecSelection;
  stats: RecSelectionStats;
  /** recRowsHash of the dataset's rows. */
  rowsHash: string;
  samples: number;
  samplesFile: string;
  /** Most history items per sample. */
  history: number;
}

/** The id of a row's sample in the plan and in an eval run of it. */
export function recSampleId(user: string, item: string): string {
  return `rec-u${user}-i${item}`;
}

/** SHA-256 (hex) of the rows in order: user, item, label, time, split per row. */
export function recRowsHash(rows: readonly RecRow[]): string {
  const hash = createHash('sha256');
  for (const r of rows) hash.update(`${r.user}\t${r.item}\t${r.label}\t${r.time}\t${r.split}\n`);
  return hash.digest('hex');
}

/** One sample per row, in row order, with at most `historyLength` history items. */
export function recPlanSamples(data: MovieLensData, dataset: RecDataset, historyLength = PLAN_HISTORY): Sample[] {
  const positives = new Map<string, RecRow[]>();
  for (const row of dataset.rows) {
    if (row.label !== 1 || row.split === 'rank') continue;
    let list = positives.get(row.user);
    if (!list) positives.set(row.user, (list = []));
    list.push(row);
  }
  for (const list of positives.values()) list.sort((a, b) => a.time - b.time);
  return dataset.rows.map((row) => {
    const liked = positives.get(row.user) ?? [];
    let history = row.split === 'rank' ? [] : liked.filter((p) => p.time < row.time && p.item !== row.item);
    if (history.length === 0) history = liked.filter((p) => p.split === 'train' && p.item !== row.item);
    const items = history.slice(-historyLength).map((p) => movieItem(data, p.item));
    return {
      ...itemSample(recSampleId(row.user, row.item), row.user, 'movie', items, movieItem(data, row.item)),
      split: row.split === 'rank' ? 'test' : row.split,
    };
  });
}

export function recPlan(data: MovieLensData, dataset: RecDataset, stats: RecSelectionStats, samples: number, history = PLAN_HISTORY): RecPlan {
  return {
    kind: 'pmg-rec-plan',
    version: 1,
    data: data.dir,
    selection: dataset.selection,
    stats,
    rowsHash: recRowsHash(dataset.rows),
    samples,
    samplesFile: PLAN_SAMPLES_FILE,
    history,
  };
}

/** Write plan.json and samples.jsonl into `dir` (created when missing), both or neither. */
export function writeRecPlan(dir: string, plan: RecPlan, samples: readonly Sample[]): { plan: string; samples: string } {
  mkdirSync(dir, { recursive: true });
  const files = { plan: join(dir, PLAN_FILE), samples: join(dir, PLAN_SAMPLES_FILE) };
  writeFilesAtomicSync([
    [files.samples, samples.map((s) => `${JSON.stringify(s)}\n`).join('')],
    [files.plan, jsonFileText(plan)],
  ]);
  return files;
}
