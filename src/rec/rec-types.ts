/**
 * The shapes shared by the downstream-recommendation experiment (issue 15, `pmg rec`): the scored (user, item) rows
 * with their split, the items' side data, the selection that made them, and the dense side-feature blocks a feature
 * set adds to the ids and genres.
 */

/** 'rank' rows are the sampled unrated items of a test user's ranking list (label 0). */
export type RecSplit = 'train' | 'val' | 'test' | 'rank';

/** One scored (user, item) row. */
export interface RecRow {
  user: string;
  item: string;
  label: 0 | 1;
  /** Seconds since 1970-01-01 UTC; 0 for 'rank' rows. */
  time: number;
  split: RecSplit;
}

export interface RecItem {
  id: string;
  title: string;
  year?: number;
  genres: string[];
}

/** How the rows were chosen: subsampling, ranking negatives per test user, split fractions, seed. */
export interface RecSelection {
  dataset: 'movielens';
  users?: number;
  items?: number;
  seed: number;
  negatives: number;
  valFraction: number;
  testFraction: number;
}

export interface RecDataset {
  selection: RecSelection;
  rows: RecRow[];
  items: Map<string, RecItem>;
  users: string[];
}

/** A dense block of side features, one row per dataset row, row-major in `dataset.rows` order. */
export interface DenseFeatures {
  name: string;
  width: number;
  values: Float32Array;
}

/** One row of the report: a feature set (no dense block = ids + genres only). */
export interface FeatureSet {
  name: string;
  description: string;
  dense?: DenseFeatures;
}
