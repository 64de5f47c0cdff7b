import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadMovieLens } from '../data/movielens.js';
import { PmgError } from '../errors/pmg-error.js';
import { writeRecMovieLens } from '../testing/rec-movielens.js';
import { DEFAULT_REC_SELECTION, movieLensRecData, movieLensRecDataset, timeSplit } from './movielens-rec.js';
import type { RecSelection } from './rec-types.js';

const tmp = mkdtempSync(join(tmpdir(), 'pmg-rec-data-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const dir = writeRecMovieLens(join(tmp, 'ml'));
const selection = (extra: Partial<RecSelection> = {}): RecSelection => ({ ...DEFAULT_REC_SELECTION, negatives: 5, ...extra });

test('time split: last ceil(0.2 n) test, ceil(0.1 n) before them val, fewer than 3 rows all train', () => {
  const f = { valFraction: 0.1, testFraction: 0.2 };
  assert.deepEqual(timeSplit(12, f), [...Array(7).fill('train'), 'val', 'val', 'test', 'test', 'test']);
  assert.deepEqual(timeSplit(3, f), ['train', 'val', 'test']);
  assert.deepEqual(timeSplit(2, f), ['train', 'train']);
  // Never an empty train part, even for large fractions.
  assert.deepEqual(timeSplit(3, { valFraction: 0.45, testFraction: 0.45 }), ['train', 'val', 'test']);
});

test('rows: labels from ratings >= 4, per-user time split, users with fewer than 2 train positives dropped, rank rows unrated', async () => {
  const data = await loadMovieLens(dir);
  const { dataset, stats } = movieLensRecData(data, selection());
  assert.deepEqual(Object.keys(stats.droppedUsers), ['fewer-than-2-train-positives']);
  const dropped = stats.droppedUsers['fewer-than-2-train-positives']!;
  assert.ok(dropped.includes('2') && !dataset.users.includes('2'));
  for (const user of dropped) {
    const ratings = [...data.ratings.get(user)!].sort((a, b) => a.timestamp - b.timestamp);
    const splits = timeSplit(ratings.length, selection());
    assert.ok(ratings.filter((r, i) => splits[i] === 'train' && r.rating >= 4).length < 2, `user ${user}`);
  }
  assert.equal(dataset.users.length + dropped.length, 12);
  assert.equal(stats.allTrainUsers, 1, 'user 1 has 2 rows');
  assert.deepEqual(
    dataset.rows.filter((r) => r.user === '1').map((r) => r.split),
    ['train', 'train'],
  );
  for (const user of dataset.users) {
    const ratings = data.ratings.get(user)!;
    const rated = dataset.rows.filter((r) => r.user === user && r.split !== 'rank');
    assert.equal(rated.length, ratings.length, `user ${user}: every rating is a row`);
    for (const row of rated) {
      const rating = ratings.find((r) => r.movieId === row.item)!;
      assert.equal(row.label, rating.rating >= 4 ? 1 : 0);
      assert.equal(row.time, rating.timestamp);
    }
    // The splits follow time: every train row before every val row before every test row.
    const last = (split: string) => Math.max(...rated.filter((r) => r.split === split).map((r) => r.time));
    const first = (split: string) => Math.min(...rated.filter((r) => r.split === split).map((r) => r.time));
    if (user !== '1') {
      assert.deepEqual(
        ['train', 'val', 'test'].map((s) => rated.filter((r) => r.split === s).length),
        [7, 2, 3],
      );
      assert.ok(last('train') < first('val') && last('val') < first('test'), `user ${user}`);
    }
    const rank = dataset.rows.filter((r) => r.user === user && r.split === 'rank');
    const hasTestPositive = rated.some((r) => r.split === 'test' && r.label === 1);
    assert.equal(rank.length, hasTestPositive ? 5 : 0, `user ${user} rank rows`);
    const everRated = new Set(ratings.map((r) => r.movieId));
    assert.equal(new Set(rank.map((r) => r.item)).size, rank.length, 'distinct');
    for (const r of rank) {
      assert.ok(!everRated.has(r.item) && dataset.items.has(r.item));
      assert.equal(r.label, 0);
      assert.equal(r.time, 0);
    }
  }
  assert.equal(stats.rows.rank, 5 * (stats.users - stats.usersWithoutRanking));
  assert.equal(stats.rows.train + stats.rows.val + stats.rows.test + stats.rows.rank, dataset.rows.length);
  assert.ok(stats.positiveRate > 0.2 && stats.positiveRate < 0.8, String(stats.positiveRate));
  assert.equal(dataset.items.get('3')!.title, 'Movie 3');
  assert.equal(dataset.items.get('3')!.year, 1983);
  assert.deepEqual(dataset.items.get('3')!.genres, ['Sci-Fi', 'Action']);
});

test('deterministic for a seed; the seed changes the users drawn and the ranking negatives', async () => {
  const data = await loadMovieLens(dir);
  const a = movieLensRecDataset(data, selection({ users: 6 }));
  assert.deepEqual(movieLensRecDataset(data, selection({ users: 6 })), a);
  const b = movieLensRecDataset(data, selection({ users: 6, seed: 1 }));
  assert.notDeepEqual(b.users, a.users);
  const full = [movieLensRecDataset(data, selection()), movieLensRecDataset(data, selection({ seed: 5 }))];
  const rank = (d: typeof a) => d.rows.filter((r) => r.split === 'rank').map((r) => `${r.user}:${r.item}`);
  assert.notDeepEqual(rank(full[0]!), rank(full[1]!));
  assert.deepEqual(
    full[0]!.rows.filter((r) => r.split !== 'rank'),
    full[1]!.rows.filter((r) => r.split !== 'rank'),
  );
});

test('subsampling: N users at random, then the M items they rated most (ties by id)', async () => {
  const data = await loadMovieLens(dir);
  const { dataset, stats } = movieLensRecData(data, selection({ users: 8, items: 10 }));
  const drawn = [...dataset.users, ...Object.values(stats.droppedUsers).flat()];
  assert.equal(new Set(drawn).size, 8);
  // Independent count of the drawn users' ratings per movie.
  const counts = new Map<string, number>();
  for (const user of drawn) for (const r of data.ratings.get(user)!) counts.set(r.movieId, (counts.get(r.movieId) ?? 0) + 1);
  const top = [...counts.entries()]
    .sort((x, y) => y[1] - x[1] || Number(x[0]) - Number(y[0]))
    .slice(0, 10)
    .map(([id]) => id);
  const kept = new Set(dataset.users);
  const expectedRows = drawn
    .filter((u) => kept.has(u))
    .flatMap((u) =>
      data.ratings
        .get(u)!
        .filter((r) => top.includes(r.movieId))
        .map((r) => `${u}:${r.movieId}`),
    );
  const rated = dataset.rows.filter((r) => r.split !== 'rank').map((r) => `${r.user}:${r.item}`);
  assert.deepEqual([...rated].sort(), expectedRows.sort());
  for (const row of dataset.rows) assert.ok(top.includes(row.item) && kept.has(row.user));
  assert.ok([...dataset.items.keys()].every((id) => top.includes(id)));
});

test('bad selections are one-line errors naming the field', async () => {
  const data = await loadMovieLens(dir);
  const bad: [Partial<RecSelection>, RegExp][] = [
    [{ users: 0 }, /^users must be a positive integer, got 0$/],
    [{ items: 1.5 }, /^items must be a positive integer/],
    [{ negatives: -1 }, /^negatives must be/],
    [{ testFraction: 0.6 }, /^testFraction must be a number above 0 and below 0.5, got 0.6$/],
  ];
  for (const [extra, message] of bad) {
    assert.throws(
      () => movieLensRecDataset(data, selection(extra)),
      (error: unknown) => error instanceof PmgError && error.code === 'invalid-argument' && message.test(error.message),
    );
  }
});
