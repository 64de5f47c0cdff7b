import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { assetPath } from '../../core/package-root.js';
import { runCli } from '../../testing/run-cli.js';

const excerpt = assetPath('test-data', 'movielens-excerpt');
const tmp = mkdtempSync(join(tmpdir(), 'pmg-data-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await runCli(argv, { cwd: tmp });
  return { code, out: stdout, err: stderr };
}

test('pmg data samples --json prints the official samples and the skipped counts', async () => {
  const expected = JSON.parse(readFileSync(join(excerpt, 'expected.json'), 'utf8')) as {
    official: Record<string, { history: string[]; target: string } | null>;
  };
  const { code, out, err } = await run('data', 'samples', '--dataset', 'movielens', '--data', excerpt, '--json', '--limit', '3');
  assert.equal(code, 0, err);
  const samples = JSON.parse(out) as { user: string; history: { items: { id: string }[] }; target: { item: { id: string } } }[];
  assert.equal(samples.length, 3);
  for (const s of samples) {
    assert.deepEqual(
      s.history.items.map((i) => i.id),
      expected.official[s.user]!.history,
    );
    assert.equal(s.target.item.id, expected.official[s.user]!.target);
  }
  assert.equal(err, '3 sample(s); skipped: none\n');
  const all = await run('data', 'samples', '--dataset', 'movielens', '--data', excerpt);
  assert.equal(all.code, 0);
  assert.match(
    all.out,
    /^movielens:user-54 {2}user 54\n {2}0\. Forrest Gump \[356\]\n {2}1\. The Silence of the Lambs \[593\]\n {2}-> The Shawshank Redemption \[318\]$/m,
  );
  assert.equal(all.err, '6 sample(s); skipped: too-few-positives 2\n');
});

test('window protocol with a split', async () => {
  const { code, out, err } = await run(
    'data',
    'samples',
    '--dataset',
    'movielens',
    '--data',
    excerpt,
    '--protocol',
    'window',
    '--split',
    'val',
    '--seed',
    '2',
    '--json',
  );
  assert.equal(code, 0, err);
  const samples = JSON.parse(out) as { split: string }[];
  assert.ok(samples.length > 0 && samples.every((s) => s.split === 'val'));
});

test('bad input gives one line and a non-zero exit', async () => {
  const cases: [string[], number, RegExp][] = [
    [['--dataset', 'imdb', '--data', excerpt], 2, /^pmg: unknown dataset 'imdb'; use one of movielens, pog, stickers, samples\n$/],
    [['--dataset', 'movielens', '--data', join(tmp, 'nope')], 3, /^pmg: --data: MovieLens folder not found: .*nope\n$/],
    [['--dataset', 'movielens'], 2, /^pmg: --data DIR is required/],
    [['--dataset', 'movielens', '--data', excerpt, '--protocol', 'x'], 2, /^pmg: --protocol: unknown protocol 'x' for movielens/],
    [['--dataset', 'movielens', '--data', excerpt, '--limit', 'many'], 2, /^pmg: --limit must be a non-negative integer, got 'many'\n$/],
    [['--dataset', 'movielens', '--data', excerpt, '--split', 'dev'], 2, /^pmg: --split: unknown split 'dev'/],
    [['--dataset', 'stickers', '--data', excerpt, '--protocol', 'official'], 2, /^pmg: --protocol: unknown protocol 'official' for stickers/],
  ];
  for (const [args, exit, message] of cases) {
    const { code, out, err } = await run('data', 'samples', ...args);
    assert.equal(code, exit, args.join(' '));
    assert.match(err, message);
    assert.equal(out, '');
  }
  const bad = join(tmp, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'movies.csv'), 'movieId,title,genres\n1,"Toy Story (1995),Comedy\n');
  writeFileSync(join(bad, 'ratings.csv'), 'userId,movieId,rating,timestamp\n');
  const { code, err } = await run('data', 'samples', '--dataset', 'movielens', '--data', bad);
  assert.equal(code, 4);
  assert.equal(err.split('\n').length, 2);
  assert.match(err, /movies\.csv:2: a quoted field is never closed/);
});
