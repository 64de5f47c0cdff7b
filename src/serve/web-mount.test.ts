import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Hono } from 'hono';
import { writeTinyMovieLens } from '../testing/tiny-movielens.js';
import { webAppExtraRoutes } from './web-mount.js';

const tmp = mkdtempSync(join(tmpdir(), 'pmg-web-mount-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('with a dataset: the dataset routes at /v1/datasets, each listed for /openapi.json, and the page at /', async () => {
  const mounted = webAppExtraRoutes({ data: writeTinyMovieLens(join(tmp, 'ml')) });
  assert.deepEqual(
    mounted.map((m) => m.path),
    ['/v1/datasets', '/'],
  );
  const app = new Hono();
  for (const m of mounted) app.route(m.path, m.app);
  const datasetPaths = app.routes
    .filter((r) => r.path.startsWith('/v1/datasets') && r.method === 'GET')
    .map((r) => r.path.replace(/:([a-z]+)/g, '{$1}'))
    .sort();
  assert.deepEqual(datasetPaths, Object.keys(mounted[0]!.openapi!).sort());
  for (const [path, spec] of Object.entries(mounted[0]!.openapi!)) {
    const get = (spec as { get: { parameters?: { name: string; in: string }[] } }).get;
    const pathParams = [...path.matchAll(/\{([a-z]+)\}/g)].map((m) => m[1]);
    assert.deepEqual(
      (get.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
      pathParams,
      path,
    );
  }
  assert.equal((await app.request('/v1/datasets/ml/users?limit=1')).status, 200);
  assert.equal((await app.request('/')).headers.get('content-type'), 'text/html; charset=utf-8');
});

test('without a dataset only the page is mounted; a folder of no known kind throws at once', () => {
  assert.deepEqual(
    webAppExtraRoutes().map((m) => m.path),
    ['/'],
  );
  assert.throws(() => webAppExtraRoutes({ data: tmp }), /is not a dataset folder pmg knows/);
});
