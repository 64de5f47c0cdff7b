import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { encodeRecFeatures } from './feature-encoding.js';
import type { RecDataset, RecRow } from './rec-types.js';

const row = (user: string, item: string, label: 0 | 1, split: RecRow['split']): RecRow => ({ user, item, label, time: split === 'rank' ? 0 : 1, split });

const dataset: RecDataset = {
  selection: { dataset: 'movielens', seed: 0, negatives: 1, valFraction: 0.1, testFraction: 0.2 },
  users: ['1', '2', '3'],
  items: new Map([
    ['a', { id: 'a', title: 'A', genres: ['Drama', 'Comedy'] }],
    ['b', { id: 'b', title: 'B', genres: ['Drama'] }],
    ['c', { id: 'c', title: 'C', genres: ['Horror'] }],
  ]),
  rows: [row('1', 'a', 1, 'train'), row('2', 'b', 0, 'train'), row('1', 'b', 1, 'val'), row('3', 'a', 1, 'test'), row('2', 'c', 0, 'rank')],
};

function rowFeatures(design: ReturnType<typeof encodeRecFeatures>, r: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let k = design.offsets[r]!; k < design.offsets[r + 1]!; k++) out.push([design.indices[k]!, design.values[k]!]);
  return out;
}

test('ids and genres: train users and items get a column each, genres are multi-hot / √n, unseen ids have no column', () => {
  const design = encodeRecFeatures(dataset);
  assert.deepEqual(
    design.fields.map((f) => [f.name, f.start, f.size]),
    [
      ['user', 0, 2],
      ['item', 2, 2],
      ['genre', 4, 2],
    ],
  );
  assert.equal(design.columns, 6);
  const g = Math.fround(1 / Math.sqrt(2));
  assert.deepEqual(rowFeatures(design, 0), [
    [0, 1],
    [2, 1],
    [4, g],
    [5, g],
  ]);
  assert.deepEqual(rowFeatures(design, 2), [
    [0, 1],
    [3, 1],
    [4, 1],
  ]);
  // user 3 never trains: item and genres only.
  assert.deepEqual(rowFeatures(design, 3), [
    [2, 1],
    [4, g],
    [5, g],
  ]);
  // item c and its genre Horror never occur in a train row: the row keeps only its user.
  assert.deepEqual(rowFeatures(design, 4), [[1, 1]]);
});

test('the dense block is standardised with the train rows’ mean and sd and scaled by 1/√width; a constant train column becomes 0', () => {
  // Column 0: train values 1 and 3 (mean 2, sd 1). Column 1: constant 5 in train.
  const values = Float32Array.from([1, 5, 3, 5, 2, 9, 4, 5, 0, 5]);
  const design = encodeRecFeatures(dataset, { name: 'img', width: 2, values });
  assert.deepEqual(design.fields.at(-1), { name: 'dense', start: 6, size: 2 });
  const s = Math.SQRT1_2; // 1/√width
  const dense = (r: number) => rowFeatures(design, r).filter(([c]) => c >= 6);
  assert.deepEqual(dense(0), [
    [6, Math.fround(-1 * s)],
    [7, 0],
  ]);
  assert.deepEqual(dense(1), [
    [6, Math.fround(1 * s)],
    [7, 0],
  ]);
  assert.deepEqual(dense(3), [
    [6, Math.fround(2 * s)],
    [7, 0],
  ]);
  assert.deepEqual(dense(4), [
    [6, Math.fround(-2 * s)],
    [7, 0],
  ]);
});

test('a dense block of the wrong size or with a non-finite value is refused with a message naming it', () => {
  assert.throws(
    () => encodeRecFeatures(dataset, { name: 'img', width: 2, values: new Float32Array(8) }),
    (e: unknown) => e instanceof PmgError && e.code === 'invalid-argument' && /'img': 8 values, expected 5 rows × 2 = 10/.test(e.message),
  );
  const values = new Float32Array(10);
  values[7] = NaN;
  assert.throws(
    () => encodeRecFeatures(dataset, { name: 'img', width: 2, values }),
    (e: unknown) => e instanceof PmgError && /row 3, column 1 is not finite/.test(e.message),
  );
});
