/**
 * What every dataset protocol shares: the result shape (samples + skipped counts), a sample of items,
 * the successors' sliding window (5 history + 1 target), the seeded 8:1:1 split and the window samples
 * taken from it, and image lookup in a folder.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../core/random.js';
import { PmgError } from '../errors/pmg-error.js';
import type { DataSplit, Item, Sample, Scene } from '../spec/behaviour.js';

export type { DataSplit } from '../spec/behaviour.js';
export const dataSplits: readonly DataSplit[] = ['train', 'val', 'test'];

/** A protocol's output: the samples, and how many were left out and why (never dropped silently). */
export interface SampleSet {
  samples: Sample[];
  /** reason -> count, e.g. { 'missing-target-image': 3, 'too-few-positives': 2 }. */
  skipped: Record<string, number>;
}

export interface SampleQuery {
  /** Keep only this part of the 8:1:1 split (window protocols); all parts when absent. */
  split?: DataSplit;
  /** Stop after this many samples (counted after split filtering). */
  limit?: number;
  /** Seed of the split and of random target choices (default 0). */
  seed?: number;
}

/** A sample of items; the images of the items that have one are its reference images. */
export function itemSample(id: string, user: string, scene: Scene, history: Item[], target: Item): Sample {
  return {
    id,
    user,
    scene,
    history: { items: history },
    target: { item: target },
    historyImages: history.flatMap((item) => (item.image ? [item.image] : [])),
    ...(target.image ? { targetImage: target.image } : {}),
  };
}

export const WINDOW_HISTORY = 5;
export const WINDOW_SIZE = WINDOW_HISTORY + 1;

/** Every run of 6 consecutive items: items [i, i+5) as history, item i+5 as target. */
export function slidingWindows<T>(items: readonly T[], history = WINDOW_HISTORY): { start: number; history: T[]; target: T }[] {
  const out: { start: number; history: T[]; target: T }[] = [];
  for (let start = 0; start + history < items.length; start++) {
    out.push({ start, history: items.slice(start, start + history), target: items[start + history]! });
  }
  return out;
}

/**
 * Assign each id to train/val/test in proportion 8:1:1, deterministically for a seed:
 * the ids are sorted, shuffled by Fisher–Yates with SeededRandom(seed), and the first
 * floor(0.8 n) go to train, the next floor(0.1 n) to val, the rest to test.
 * The assignment depends only on the set of ids and the seed, not on their input order.
 */
export function splitEightOneOne(ids: readonly string[], seed = 0): Map<string, DataSplit> {
  const order = new SeededRandom(seed).shuffle([...new Set(ids)].sort());
  const train = Math.floor(order.length * 0.8);
  const val = Math.floor(order.length * 0.1);
  const result = new Map<string, DataSplit>();
  order.forEach((id, i) => result.set(id, i < train ? 'train' : i < train + val ? 'val' : 'test'));
  return result;
}

/**
 * The samples of a window protocol: the windows split 8:1:1 by the query's seed, only those of the
 * query's split (all when none), in order, at most `limit`, each tagged with its part. `build` gives a
 * window's sample, or the reason it is skipped (counted in `skip`).
 */
export function windowSamples<W extends { id: string }>(
  windows: readonly W[],
  query: SampleQuery,
  skip: SkipCounter,
  build: (window: W) => Sample | string,
): Sample[] {
  const split = splitEightOneOne(
    windows.map((w) => w.id),
    query.seed ?? 0,
  );
  const samples: Sample[] = [];
  for (const w of windows) {
    const part = split.get(w.id)!;
    if (query.split && part !== query.split) continue;
    if (query.limit !== undefined && samples.length >= query.limit) break;
    const result = build(w);
    if (typeof result === 'string') skip.add(result);
    else samples.push({ ...result, split: part });
  }
  return samples;
}

/** A 32-bit FNV-1a hash of a string mixed with a seed: a per-user random stream that does not depend on the order users are visited in. */
export function seedFor(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h ^ Math.floor(seed / 0x100000000)) >>> 0;
}

export class SkipCounter {
  readonly counts: Record<string, number> = {};
  add(reason: string, count = 1): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + count;
  }
}

export const imageExtensions = ['.jpg', '.jpeg', '.png', '.webp'] as const;

/**
 * The images of one folder, looked up by item id (`<id>.jpg|jpeg|png|webp`, first match in that order).
 * The folder is listed once; a missing folder is a file-not-found error naming the option that set it.
 */
export class ImageFolder {
  private readonly files: Set<string>;

  constructor(
    readonly dir: string,
    option: string,
  ) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      const field = /^[a-z][A-Za-z]*$/.test(option) ? option : undefined;
      throw new PmgError('file-not-found', field ? `${field}: image folder not found: ${dir}` : `image folder not found: ${dir} (${option})`, {
        details: { dir, option, ...(field ? { field } : {}) },
      });
    }
    this.files = new Set(readdirSync(dir));
  }

  /** Path of the image for `id`, or undefined when there is none. */
  find(id: string): string | undefined {
    for (const ext of imageExtensions) {
      if (this.files.has(id + ext)) return join(this.dir, id + ext);
    }
    return undefined;
  }

  /** Path of a file given by name relative to the folder, or undefined when absent. */
  has(relative: string): string | undefined {
    return this.files.has(relative) ? join(this.dir, relative) : undefined;
  }
}

export function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new PmgError('invalid-argument', `limit must be a non-negative integer, got ${limit}`);
  }
}

export function checkSeed(seed: number | undefined): void {
  if (seed !== undefined && (!Number.isSafeInteger(seed) || seed < 0)) {
    throw new PmgError('invalid-argument', `seed must be a non-negative integer, got ${seed}`);
  }
}

/** A folder a dataset is read from; missing -> file-not-found naming the folder and the flag. */
export function requireDir(dir: string, what: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new PmgError('file-not-found', `data: ${what} folder not found: ${dir}`, { details: { dir, field: 'data' } });
  }
}
