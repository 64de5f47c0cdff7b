/**
 * A small synthetic RecDataset for tests and demos: users like items by a hidden taste for genres plus an item
 * popularity, so ids and genres carry real signal; optionally a dense "signal" block that carries part of the hidden
 * label noise (a feature that really helps) next to nothing else. Rows follow the contract of rec-types.ts: per-user
 * time order, the last rows of each user split into val and test, and `negatives` unrated items per test user as 'rank'
 * rows.
 */
import { SeededRandom } from '../core/random.js';
import type { DenseFeatures, RecDataset, RecItem, RecRow } from './rec-types.js';

export interface SyntheticRecOptions {
  users: number;
  items: number;
  ratingsPerUser: number;
  negatives: number;
  seed: number;
}

export interface SyntheticRecDataset {
  dataset: RecDataset;
  /** A dense block whose first column is the hidden per-row noise that decided the label (the "helpful" feature). */
  signal: (width: number) => DenseFeatures;
}

const GENRES = ['Action', 'Comedy', 'Drama', 'Horror', 'Romance', 'Sci-Fi', 'Thriller', 'Animation'];

export function syntheticRecDataset(options: SyntheticRecOptions): SyntheticRecDataset {
  const random = new SeededRandom(options.seed);
  const items = new Map<string, RecItem>();
  const popularity: number[] = [];
  for (let i = 0; i < options.items; i++) {
    const genres = GENRES.filter(() => random.nextFloat() < 0.3);
    if (!genres.length) genres.push(GENRES[i % GENRES.length]!);
    items.set(`m${i}`, { id: `m${i}`, title: `Movie ${i}`, genres });
    popularity.push(random.nextGaussian() * 0.8);
  }
  const rows: RecRow[] = [];
  const noise: number[] = [];
  const users: string[] = [];
  for (let u = 0; u < options.users; u++) {
    const user = `u${u}`;
    users.push(user);
    const taste = new Map(GENRES.map((g) => [g, random.nextGaussian()]));
    const seen = new Set<number>();
    const own: Array<{ row: RecRow; noise: number }> = [];
    for (let j = 0; j < options.ratingsPerUser; j++) {
      let i = Math.floor(random.nextFloat() * options.items);
      while (seen.has(i)) i = (i + 1) % options.items;
      seen.add(i);
      const item = items.get(`m${i}`)!;
      const affinity = item.genres.reduce((a, g) => a + taste.get(g)!, 0) / Math.sqrt(item.genres.length) + popularity[i]!;
      const hidden = random.nextGaussian() * 1.5;
      const label = affinity + hidden > 0 ? 1 : 0;
      own.push({ row: { user, item: item.id, label, time: 1_000_000 + u * 1000 + j, split: 'train' }, noise: hidden });
    }
    const test = Math.max(1, Math.round(own.length * 0.2));
    const val = Math.max(1, Math.round(own.length * 0.1));
    own.forEach((o, j) => (o.row.split = j >= own.length - test ? 'test' : j >= own.length - test - val ? 'val' : 'train'));
    for (const o of own) {
      rows.push(o.row);
      noise.push(o.noise);
    }
    let added = 0;
    for (let i = 0; i < options.items && added < options.negatives; i++) {
      const candidate = (u * 7 + i * 13) % options.items;
      if (seen.has(candidate)) continue;
      seen.add(candidate);
      rows.push({ user, item: `m${candidate}`, label: 0, time: 0, split: 'rank' });
      noise.push(0);
      added++;
    }
  }
  const dataset: RecDataset = {
    selection: { dataset: 'movielens', seed: options.seed, negatives: options.negatives, valFraction: 0.1, testFraction: 0.2 },
    rows,
    items,
    users,
  };
  const signal = (width: number): DenseFeatures => {
    const values = new Float32Array(rows.length * width);
    const fill = new SeededRandom(options.seed + 1);
    for (let r = 0; r < rows.length; r++) {
      values[r * width] = noise[r]!;
      for (let c = 1; c < width; c++) values[r * width + c] = fill.nextGaussian();
    }
    return { name: 'signal', width, values };
  };
  return { dataset, signal };
}

/** Random N(0, 1) vectors of `width` per dataset row (the shape of the 'random' control). */
export function randomDense(rows: number, width: number, seed: number, name = 'random'): DenseFeatures {
  return { name, width, values: new SeededRandom(seed).fillGaussian(new Float32Array(rows * width)) };
}
