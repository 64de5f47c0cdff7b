/**
 * The recommender's design matrix: every dataset row becomes a short sparse feature vector in one compact CSR block
 * (row offsets, Int32Array column indices, Float32Array values), allocated once.
 *
 * Columns, in this order:
 * - one per user seen in a train row (value 1);
 * - one per item seen in a train row (value 1);
 * - one per genre of the train rows' items (multi-hot, each 1/√n for an item with n such genres);
 * - the dense block of the feature set (when given), standardised column by column with the mean and standard deviation
 *   (population, n) of the train rows (a column whose train sd is 0 is all 0), then scaled by 1/√width so the block, like
 *   a one-hot field, has an expected squared norm of 1. Without that scale a 66-wide block of random vectors cost the
 *   ids + genres model 0.020 of validation log loss on ml-latest-small (0.5835 vs 0.5634); with it 0.002.
 *
 * A user, item or genre that never occurs in a train row has no column: its model weights would only be their random
 * initialisation, so such rows fall back to the features they do have (w0, genres, dense block).
 */
import { PmgError } from '../errors/pmg-error.js';
import type { DenseFeatures, RecDataset } from './rec-types.js';

export interface FeatureField {
  name: 'user' | 'item' | 'genre' | 'dense';
  start: number;
  size: number;
}

export interface SparseDesign {
  /** Number of rows (= dataset.rows.length). */
  rows: number;
  /** Number of columns (all fields together). */
  columns: number;
  /** rows + 1 offsets into indices/values: row r is offsets[r]..offsets[r+1]. */
  offsets: Int32Array;
  indices: Int32Array;
  values: Float32Array;
  fields: FeatureField[];
}

/** Encode the dataset's rows; `dense`, when given, must hold one row of `width` finite values per dataset row. */
export function encodeRecFeatures(dataset: RecDataset, dense?: DenseFeatures): SparseDesign {
  const rows = dataset.rows;
  if (dense) checkDense(dense, rows.length);
  const userIndex = new Map<string, number>();
  const itemIndex = new Map<string, number>();
  const genreIndex = new Map<string, number>();
  for (const row of rows) {
    if (row.split !== 'train') continue;
    if (!userIndex.has(row.user)) userIndex.set(row.user, userIndex.size);
    if (!itemIndex.has(row.item)) {
      itemIndex.set(row.item, itemIndex.size);
      for (const genre of dataset.items.get(row.item)?.genres ?? []) if (!genreIndex.has(genre)) genreIndex.set(genre, genreIndex.size);
    }
  }
  const width = dense?.width ?? 0;
  const fields: FeatureField[] = [
    { name: 'user', start: 0, size: userIndex.size },
    { name: 'item', start: userIndex.size, size: itemIndex.size },
    { name: 'genre', start: userIndex.size + itemIndex.size, size: genreIndex.size },
  ];
  const denseStart = fields[2]!.start + genreIndex.size;
  if (dense) fields.push({ name: 'dense', start: denseStart, size: width });

  // Genre columns of each item, resolved once per item.
  const itemGenres = new Map<string, number[]>();
  const genresOf = (item: string): number[] => {
    let list = itemGenres.get(item);
    if (!list) {
      list = [];
      for (const genre of dataset.items.get(item)?.genres ?? []) {
        const g = genreIndex.get(genre);
        if (g !== undefined && !list.includes(fields[2]!.start + g)) list.push(fields[2]!.start + g);
      }
      itemGenres.set(item, list);
    }
    return list;
  };

  const offsets = new Int32Array(rows.length + 1);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    offsets[r + 1] = offsets[r]! + (userIndex.has(row.user) ? 1 : 0) + (itemIndex.has(row.item) ? 1 : 0) + genresOf(row.item).length + width;
  }
  const nnz = offsets[rows.length]!;
  const indices = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  const { mean, scale } = dense ? trainStandardisation(dataset, dense) : { mean: new Float64Array(0), scale: new Float64Array(0) };
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    let at = offsets[r]!;
    const u = userIndex.get(row.user);
    if (u !== undefined) {
      indices[at] = u;
      values[at++] = 1;
    }
    const i = itemIndex.get(row.item);
    if (i !== undefined) {
      indices[at] = fields[1]!.start + i;
      values[at++] = 1;
    }
    const genres = genresOf(row.item);
    const genreValue = genres.length ? 1 / Math.sqrt(genres.length) : 0;
    for (const g of genres) {
      indices[at] = g;
      values[at++] = genreValue;
    }
    if (dense) {
      const base = r * width;
      for (let c = 0; c < width; c++) {
        indices[at] = denseStart + c;
        values[at++] = (dense.values[base + c]! - mean[c]!) * scale[c]!;
      }
    }
  }
  return { rows: rows.length, columns: denseStart + width, offsets, indices, values, fields };
}

/** Per-column mean of the dense block over the train rows, and the scale 1/(sd·√width) (0 where sd is 0). */
function trainStandardisation(dataset: RecDataset, dense: DenseFeatures): { mean: Float64Array; scale: Float64Array } {
  const width = dense.width;
  const mean = new Float64Array(width);
  const squares = new Float64Array(width);
  let n = 0;
  dataset.rows.forEach((row, r) => {
    if (row.split !== 'train') return;
    n++;
    const base = r * width;
    for (let c = 0; c < width; c++) mean[c]! += dense.values[base + c]!;
  });
  const scale = new Float64Array(width);
  if (n === 0) return { mean, scale };
  for (let c = 0; c < width; c++) mean[c]! /= n;
  dataset.rows.forEach((row, r) => {
    if (row.split !== 'train') return;
    const base = r * width;
    for (let c = 0; c < width; c++) squares[c]! += (dense.values[base + c]! - mean[c]!) ** 2;
  });
  for (let c = 0; c < width; c++) {
    const sd = Math.sqrt(squares[c]! / n);
    // A column constant up to float32 rounding carries no signal: treat it as sd 0.
    scale[c] = sd > 1e-6 * Math.max(1, Math.abs(mean[c]!)) ? 1 / (sd * Math.sqrt(width)) : 0;
  }
  return { mean, scale };
}

function checkDense(dense: DenseFeatures, rows: number): void {
  if (!Number.isInteger(dense.width) || dense.width < 1)
    throw new PmgError('invalid-argument', `dense features '${dense.name}': width ${dense.width} must be a positive integer`);
  if (dense.values.length !== rows * dense.width)
    throw new PmgError(
      'invalid-argument',
      `dense features '${dense.name}': ${dense.values.length} values, expected ${rows} rows × ${dense.width} = ${rows * dense.width}; build them for every dataset row`,
    );
  for (let i = 0; i < dense.values.length; i++) {
    if (!Number.isFinite(dense.values[i]!))
      throw new PmgError(
        'invalid-argument',
        `dense features '${dense.name}': value ${dense.values[i]} at row ${Math.floor(i / dense.width)}, column ${i % dense.width} is not finite`,
      );
  }
}
