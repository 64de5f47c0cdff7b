import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { assetPath } from '../core/package-root.js';
import { PmgError } from '../errors/pmg-error.js';
import { loadMovieLens, movieLensSampleForUser, movieLensSamples } from './movielens.js';

const excerpt = assetPath('test-data', 'movielens-excerpt');
interface Expected {
  users: string[];
  official: Record<string, { history: string[]; target: string } | null>;
  windows: Record<string, { history: string[]; target: string }[]>;
  keywords: Record<string, string[]>;
}
const expected = JSON.parse(readFileSync(join(excerpt, 'expected.json'), 'utf8')) as Expected;
const tmp = mkdtempSync(join(tmpdir(), 'pmg-movielens-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const files = ['movies.csv', 'ratings.csv', 'tags.csv', 'links.csv'];
function variant(name: string, transform: (file: string, text: string) => string | undefined): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  for (const f of files) {
    const text = transform(f, readFileSync(join(excerpt, f), 'utf8'));
    if (text !== undefined) writeFileSync(join(dir, f), text);
  }
  return dir;
}

const ids = (s: { history: { items: { id?: string }[] }; target: { item?: { id?: string } } }) => ({
  history: s.history.items.map((i) => i.id!),
  target: s.target.item!.id!,
});

test('official protocol on the real excerpt matches the independent reference', async () => {
  const data = await loadMovieLens(excerpt);
  assert.equal(data.users.length, expected.users.length);
  const { samples, skipped } = movieLensSamples(data, { protocol: 'official' });
  const want = Object.entries(expected.official).filter(([, v]) => v !== null);
  assert.deepEqual(skipped, { 'too-few-positives': expected.users.length - want.length });
  assert.deepEqual(samples.map((s) => s.user).sort(), want.map(([u]) => u).sort());
  for (const sample of samples) {
    assert.deepEqual(ids(sample), { history: expected.official[sample.user]!.history, target: expected.official[sample.user]!.target }, `user ${sample.user}`);
    assert.equal(sample.id, `movielens:user-${sample.user}`);
    assert.equal(sample.scene, 'movie');
  }
  // Users come in ascending numeric order; limit cuts the list.
  assert.deepEqual(
    movieLensSamples(data, { protocol: 'official', limit: 2 }).samples.map((s) => s.user),
    ['53', '54'],
  );
  // Hand-checked (awk | sort): user 54 has 3 positives -> history of 2.
  const u54 = movieLensSampleForUser(data, '54');
  assert.deepEqual(ids(u54), { history: ['356', '593'], target: '318' });
  assert.equal(u54.history.items[0]!.title, 'Forrest Gump');
  assert.deepEqual(u54.history.items[0]!.genres, ['Comedy', 'Drama', 'Romance', 'War']);
  assert.equal(u54.target.item!.title, 'The Shawshank Redemption');
});

test('keywords: five most frequent tags, topped up with genres', async () => {
  const data = await loadMovieLens(excerpt);
  for (const [movie, keywords] of Object.entries(expected.keywords)) {
    assert.deepEqual(data.movies.get(movie)!.keywords, keywords, `movie ${movie}`);
    assert.ok(keywords.length <= 5);
  }
  assert.equal(data.movies.get('356')!.year, 1994);
  assert.equal(Object.values(expected.keywords).filter((k) => k.length === 5).length >= 5, true);
  assert.deepEqual(data.movies.get('356')!.keywords, ['bittersweet', 'bubba gump shrimp', 'emotional', 'heartwarming', 'lieutenant dan']);
});

test('window protocol: 5+1 windows in time order, 8:1:1 split deterministic under the seed', async () => {
  const data = await loadMovieLens(excerpt);
  const all = movieLensSamples(data, { protocol: 'window', seed: 3 });
  const total = Object.values(expected.windows).reduce((n, w) => n + w.length, 0);
  assert.equal(all.samples.length, total);
  for (const [user, windows] of Object.entries(expected.windows)) {
    const got = all.samples.filter((s) => s.user === user).map(ids);
    assert.deepEqual(got, windows, `user ${user}`);
  }
  assert.equal(all.skipped['too-few-positives'], Object.values(expected.windows).filter((w) => w.length === 0).length);
  const parts = ['train', 'val', 'test'].map((p) => all.samples.filter((s) => s.split === p).length);
  assert.deepEqual(parts, [Math.floor(total * 0.8), Math.floor(total * 0.1), total - Math.floor(total * 0.8) - Math.floor(total * 0.1)]);
  const again = movieLensSamples(data, { protocol: 'window', seed: 3, split: 'test' });
  assert.deepEqual(
    again.samples.map((s) => s.id),
    all.samples.filter((s) => s.split === 'test').map((s) => s.id),
  );
  const other = movieLensSamples(data, { protocol: 'window', seed: 4, split: 'test' });
  assert.notDeepEqual(
    other.samples.map((s) => s.id),
    again.samples.map((s) => s.id),
  );
  assert.equal(movieLensSamples(data, { protocol: 'window', seed: 3, split: 'train', limit: 4 }).samples.length, 4);
  assert.match(all.samples[0]!.id, /^movielens:user-\d+:window-\d+$/);
});

test('CRLF copy gives the same samples as LF', async () => {
  const crlf = variant('crlf', (_f, text) => text.replace(/\n/g, '\r\n'));
  const a = await loadMovieLens(excerpt);
  const b = await loadMovieLens(crlf);
  assert.deepEqual(movieLensSamples(b, { protocol: 'official' }), movieLensSamples(a, { protocol: 'official' }));
  assert.deepEqual([...b.movies.values()], [...a.movies.values()]);
});

test('old-release style copy (BOM, integer ratings, no tags.csv or links.csv) loads with the same protocol output', async () => {
  const old = variant('old', (f, text) => {
    if (f === 'tags.csv' || f === 'links.csv') return undefined;
    if (f === 'ratings.csv') return `\ufeff${text.replace(/,(\d)\.0,/g, ',$1,')}`;
    return text;
  });
  assert.match(readFileSync(join(old, 'ratings.csv'), 'utf8'), /^\ufeffuserId,movieId,rating,timestamp\n\d+,\d+,\d,/);
  const data = await loadMovieLens(old);
  const { samples } = movieLensSamples(data, { protocol: 'official' });
  assert.equal(samples.length, 6);
  for (const s of samples) assert.deepEqual(ids(s), { history: expected.official[s.user]!.history, target: expected.official[s.user]!.target });
  // Without tags, keywords come from the genres.
  assert.deepEqual(data.movies.get('356')!.keywords, ['comedy', 'drama', 'romance', 'war']);
});

test('a malformed CSV line is an error with its line number', async () => {
  const bad = variant('bad', (f, text) => {
    if (f !== 'movies.csv') return text;
    const lines = text.split('\n');
    lines[6] = '999999,Broken "quote" (2000),Drama';
    return lines.join('\n');
  });
  await assert.rejects(
    loadMovieLens(bad),
    (e: unknown) => e instanceof PmgError && e.code === 'invalid-input' && e.message.includes(`${join(bad, 'movies.csv')}:7:`),
  );
  const badRating = variant('bad-rating', (f, text) => (f === 'ratings.csv' ? text.replace(/\n53,(\d+),[\d.]+,/, '\n53,$1,good,') : text));
  await assert.rejects(loadMovieLens(badRating), /ratings\.csv:\d+: rating 'good' is not a number/);
});

test('missing folder, missing file, unknown user, too few positives', async () => {
  await assert.rejects(loadMovieLens(join(tmp, 'nowhere')), (e: unknown) => e instanceof PmgError && e.code === 'file-not-found' && /nowhere/.test(e.message));
  const noRatings = variant('no-ratings', (f, text) => (f === 'ratings.csv' ? undefined : text));
  await assert.rejects(loadMovieLens(noRatings), (e: unknown) => e instanceof PmgError && e.code === 'file-not-found' && /ratings\.csv/.test(e.message));
  const data = await loadMovieLens(excerpt);
  assert.throws(
    () => movieLensSampleForUser(data, '99999'),
    (e: unknown) =>
      e instanceof PmgError && e.code === 'invalid-argument' && /user 99999 is not in .*ratings\.csv \(users there run from 53 to 442\)/.test(e.message),
  );
  assert.throws(() => movieLensSampleForUser(data, '442'), /user 442 has 0 rating\(s\) >= 4/);
  assert.throws(() => movieLensSamples(data, { protocol: 'official', split: 'test' }), /no test split/);
});

test('with a poster folder, samples lacking a poster are skipped and counted', async () => {
  const posters = join(tmp, 'posters');
  mkdirSync(posters);
  const data0 = await loadMovieLens(excerpt);
  const missing = new Set(['318', '785']); // user 54's target, user 157's first history item
  for (const id of data0.movies.keys()) if (!missing.has(id)) writeFileSync(join(posters, `${id}${Number(id) % 2 ? '.jpg' : '.png'}`), 'x');
  copyFileSync(join(posters, '356.png'), join(posters, 'unrelated.txt'));
  const data = await loadMovieLens(excerpt, { posters });
  const { samples, skipped } = movieLensSamples(data, { protocol: 'official' });
  // Expected counts, worked out from the reference ids.
  const want: Record<string, number> = { 'too-few-positives': 2 };
  let kept = 0;
  for (const v of Object.values(expected.official)) {
    if (!v) continue;
    const reason = missing.has(v.target) ? 'missing-target-image' : v.history.some((m) => missing.has(m)) ? 'missing-history-image' : undefined;
    if (reason) want[reason] = (want[reason] ?? 0) + 1;
    else kept++;
  }
  assert.deepEqual(skipped, want);
  assert.equal(samples.length, kept);
  for (const s of samples) {
    assert.equal(s.historyImages.length, s.history.items.length);
    assert.equal(s.targetImage, s.target.item!.image);
    assert.match(s.targetImage!, /\.(jpg|png)$/);
  }
  assert.throws(
    () => movieLensSampleForUser(data, '54'),
    (e: unknown) => e instanceof PmgError && /missing-target-image/.test(e.message),
  );
  await assert.rejects(loadMovieLens(excerpt, { posters: join(tmp, 'no-posters') }), /posters: image folder not found: .*no-posters$/);
});
