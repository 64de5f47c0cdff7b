import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { assetPath } from '../core/package-root.js';
import { PmgError } from '../errors/pmg-error.js';
import { checkGenerationJob } from '../jobs/generation-job.js';
import { detectDatasetKind } from './dataset-catalog.js';
import { Hono } from 'hono';
import { DATASET_ROUTES_PATH, datasetRoutes as mountable, MAX_QUERY_CHARS } from './dataset-routes.js';
import { listenLoopback, type RunningServer } from './server.js';
import { writeTinyMovieLens } from '../testing/tiny-movielens.js';

/** The routes mounted where the server mounts them. */
const datasetRoutes = (dir: string) => new Hono().route(DATASET_ROUTES_PATH, mountable(dir));

const tmp = mkdtempSync(join(tmpdir(), 'pmg-dataset-routes-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let ml: RunningServer;
before(async () => {
  ml = await listenLoopback(datasetRoutes(writeTinyMovieLens(join(tmp, 'tiny-ml'))));
});
after(() => ml.close());

async function get(base: string, path: string): Promise<{ status: number; body: any; type: string | null }> {
  const response = await fetch(base + path);
  return { status: response.status, type: response.headers.get('content-type'), body: await response.json() };
}

test('GET /v1/datasets names the folder, its kind and its counts', async () => {
  const { status, body, type } = await get(ml.url, '/v1/datasets');
  assert.equal(status, 200);
  assert.match(type!, /application\/json/);
  assert.deepEqual(body, { datasets: [{ name: 'tiny-ml', kind: 'movielens', scene: 'movie', users: 2, items: 6 }] });
});

test('users are paged in id order, only users with a sample, filtered by id', async () => {
  assert.deepEqual((await get(ml.url, '/v1/datasets/tiny-ml/users')).body, {
    users: [
      { id: '1', historyLength: 3 },
      { id: '10', historyLength: 1 },
    ],
    total: 2,
  });
  assert.deepEqual((await get(ml.url, '/v1/datasets/tiny-ml/users?offset=1&limit=1')).body, { users: [{ id: '10', historyLength: 1 }], total: 2 });
  assert.deepEqual((await get(ml.url, '/v1/datasets/tiny-ml/users?q=10')).body, { users: [{ id: '10', historyLength: 1 }], total: 1 });
});

test("a user's history is the official protocol's, ready for a job; targets start with the held-out item", async () => {
  const { status, body } = await get(ml.url, '/v1/datasets/tiny-ml/users/1');
  assert.equal(status, 200);
  assert.equal(body.id, '1');
  assert.equal(body.scene, 'movie');
  // Positives by rating desc then time desc: 1 (5), 2 (4.5), 4 (4, t400), 3 (4, t300), 5 (4, t50).
  assert.deepEqual(
    body.history.items.map((i: { id: string }) => i.id),
    ['1', '2', '4'],
  );
  assert.equal(body.history.items[1].title, 'The Story of Us');
  assert.deepEqual(body.history.items[0].genres, ['Adventure', 'Animation']);
  assert.deepEqual(
    body.targets.map((i: { id: string }) => i.id),
    ['3', '5'],
  );
  const job = checkGenerationJob({ scene: body.scene, history: body.history, target: { item: body.targets[0] } });
  assert.equal(job.history.items.length, 3);
});

test('item search: case-insensitive substring, prefix matches first, limited', async () => {
  const { body } = await get(ml.url, '/v1/datasets/tiny-ml/items?q=TOY');
  assert.deepEqual(
    body.items.map((i: { title: string }) => i.title),
    ['Toy Story', 'Toys'],
  );
  const story = await get(ml.url, '/v1/datasets/tiny-ml/items?q=story');
  assert.deepEqual(
    story.body.items.map((i: { title: string }) => i.title),
    ['Storytelling', 'Toy Story', 'The Story of Us'],
  );
  assert.equal((await get(ml.url, '/v1/datasets/tiny-ml/items?q=&limit=2')).body.items.length, 2);
  assert.deepEqual((await get(ml.url, '/v1/datasets/tiny-ml/items?q=zzz')).body, { items: [] });
  assert.deepEqual(Object.keys(body.items[0]).sort(), ['genres', 'id', 'keywords', 'title']);
});

test('bad queries are 400 with the field; unknown dataset or user is 404', async () => {
  for (const [path, field] of [
    ['/v1/datasets/tiny-ml/items?limit=101', 'limit'],
    ['/v1/datasets/tiny-ml/items?limit=0', 'limit'],
    ['/v1/datasets/tiny-ml/users?limit=abc', 'limit'],
    ['/v1/datasets/tiny-ml/users?offset=-1', 'offset'],
    [`/v1/datasets/tiny-ml/items?q=${'x'.repeat(MAX_QUERY_CHARS + 1)}`, 'q'],
  ] as const) {
    const { status, body } = await get(ml.url, path);
    assert.equal(status, 400, path);
    assert.equal(body.error.code, 'invalid-input');
    assert.equal(body.error.field, field);
    assert.match(body.error.message, new RegExp(`^${field} `));
  }
  const user = await get(ml.url, '/v1/datasets/tiny-ml/users/2');
  assert.equal(user.status, 404);
  assert.equal(user.body.error.code, 'not-found');
  const other = await get(ml.url, '/v1/datasets/other/users');
  assert.equal(other.status, 404);
  assert.match(other.body.error.message, /this server has 'tiny-ml'/);
});

test('the bundled MovieLens excerpt: every user with a sample has the reference history and target', async () => {
  const excerpt = assetPath('test-data', 'movielens-excerpt');
  const expected = JSON.parse(readFileSync(join(excerpt, 'expected.json'), 'utf8')) as {
    official: Record<string, { history: string[]; target: string } | null>;
  };
  const server = await listenLoopback(datasetRoutes(excerpt));
  try {
    const list = (await get(server.url, '/v1/datasets/movielens-excerpt/users?limit=100')).body;
    const want = Object.entries(expected.official).filter(([, v]) => v !== null);
    assert.equal(list.total, want.length);
    for (const [user, sample] of want) {
      const { body } = await get(server.url, `/v1/datasets/movielens-excerpt/users/${user}`);
      assert.deepEqual(
        body.history.items.map((i: { id: string }) => i.id),
        sample!.history,
        `user ${user}`,
      );
      assert.equal(body.targets[0].id, sample!.target);
    }
  } finally {
    await server.close();
  }
});

test('POG and stickers folders: detected by their files, users from their protocols, no server paths', async () => {
  const pog = join(tmp, 'pog');
  cpSync(assetPath('test-data', 'pog'), pog, { recursive: true });
  mkdirSync(join(pog, 'images'));
  const png = PNG.sync.write(new PNG({ width: 2, height: 2 }));
  for (const id of ['i1', 'i2', 'i3', 'i4', 'i5', 'i6', 'i9', 'i10', 'i11']) writeFileSync(join(pog, 'images', `${id}.png`), png);
  const stickers = join(tmp, 'stickers');
  cpSync(assetPath('test-data', 'stickers'), stickers, { recursive: true });
  for (const [topic, n] of [
    ['01-panda', [1, 2, 3, 4, 5, 6, 7, 10]],
    ['02-cat', [1, 2, 3, 4, 5, 6]],
  ] as const) {
    mkdirSync(join(stickers, 'Images', topic), { recursive: true });
    for (const i of n) writeFileSync(join(stickers, 'Images', topic, `sticker_${i}.png`), png);
  }
  assert.equal(detectDatasetKind(pog), 'pog');
  assert.equal(detectDatasetKind(stickers), 'stickers');

  const p = await listenLoopback(datasetRoutes(pog));
  const s = await listenLoopback(datasetRoutes(stickers));
  try {
    const pogUsers = (await get(p.url, '/v1/datasets/pog/users')).body;
    assert.deepEqual(
      pogUsers.users.map((u: { id: string }) => u.id),
      ['u1', 'u5'],
    );
    const u1 = (await get(p.url, '/v1/datasets/pog/users/u1')).body;
    assert.equal(u1.scene, 'fashion');
    assert.deepEqual(
      u1.history.items.map((i: { id: string }) => i.id),
      ['i2', 'i3', 'i4', 'i5', 'i6'],
    );
    assert.deepEqual(u1.targets.map((i: { id: string }) => i.id).sort(), ['i10', 'i11']);
    const scarf = (await get(p.url, '/v1/datasets/pog/items?q=scarf')).body.items;
    assert.deepEqual(
      scarf.map((i: { title: string }) => i.title),
      ['wool scarf, grey', 'silk neck scarf'],
    );

    const themes = (await get(s.url, '/v1/datasets/stickers/users')).body;
    assert.deepEqual(themes, {
      users: [
        { id: '01-panda', historyLength: 5 },
        { id: '02-cat', historyLength: 5 },
      ],
      total: 2,
    });
    const panda = (await get(s.url, '/v1/datasets/stickers/users/01-panda')).body;
    assert.equal(panda.scene, 'sticker');
    assert.deepEqual(
      panda.history.items.map((i: { id: string }) => i.id),
      ['01-panda/sticker_3.png', '01-panda/sticker_4.png', '01-panda/sticker_5.png', '01-panda/sticker_6.png', '01-panda/sticker_7.png'],
    );
    assert.equal(panda.targets[0].id, '01-panda/sticker_10.png');
    const text = JSON.stringify([u1, panda, scarf]);
    assert.ok(!text.includes(tmp), 'no server path is sent');
  } finally {
    await p.close();
    await s.close();
  }
});

test('a folder of no known kind is one clear error at start; a missing one names the folder', () => {
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  assert.throws(
    () => datasetRoutes(empty),
    (e: unknown) => e instanceof PmgError && e.code === 'invalid-argument' && /expected movies.csv \+ ratings.csv/.test(e.message),
  );
  assert.throws(
    () => datasetRoutes(join(tmp, 'nope')),
    (e: unknown) => e instanceof PmgError && e.code === 'file-not-found' && e.message.includes('nope'),
  );
});

test('a dataset whose files are wrong answers 500 with what is wrong, and is read again on the next request', async () => {
  const dir = writeTinyMovieLens(join(tmp, 'broken-ml'));
  writeFileSync(join(dir, 'ratings.csv'), 'userId,movieId,rating,timestamp\n1,1,five,100\n');
  const server = await listenLoopback(datasetRoutes(dir));
  try {
    const first = await get(server.url, '/v1/datasets');
    assert.equal(first.status, 500);
    assert.equal(first.body.error.code, 'internal');
    assert.match(first.body.error.message, /^the dataset broken-ml could not be read: .*ratings\.csv:2: rating 'five' is not a number$/);
    writeTinyMovieLens(dir);
    assert.equal((await get(server.url, '/v1/datasets')).status, 200);
  } finally {
    await server.close();
  }
});
