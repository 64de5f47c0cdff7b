/**
 * The dataset routes of `pmg serve --data DIR` (docs/serve.md "Datasets"): the folder's users, each user's job-ready
 * history and suggested targets, and a title search over its items. The folder is loaded once, on the first request
 * (a failed load is a 500 naming the file and line, tried again on the next request). Errors are the API's JSON body `{ error: { code, message, field } }`.
 */
import { Hono, type Context } from 'hono';
import { jsonError } from './http-errors.js';
import { PmgError } from '../errors/pmg-error.js';
import { datasetName, detectDatasetKind, loadDatasetCatalog, searchItems, userPage, type DatasetCatalog } from './dataset-catalog.js';

export const MAX_PAGE = 100;
export const MAX_QUERY_CHARS = 200;

/** Where `datasetRoutes` is mounted: `createApp({ extraRoutes: [{ path: DATASET_ROUTES_PATH, app: datasetRoutes(dir) }] })`. */
export const DATASET_ROUTES_PATH = '/v1/datasets';

/**
 * A Hono app with the dataset routes for one folder, relative to DATASET_ROUTES_PATH (`/`, `/:name/users`,
 * `/:name/users/:id`, `/:name/items`); the folder's kind is checked now, its files on first use.
 */
export function datasetRoutes(dir: string): Hono {
  const kind = detectDatasetKind(dir);
  const name = datasetName(dir);
  let loading: Promise<DatasetCatalog> | undefined;
  const load = (): Promise<DatasetCatalog> => {
    loading ??= loadDatasetCatalog(dir).catch((error: unknown) => {
      loading = undefined;
      // The folder's content is the server's problem, not the request's: a 500 that says what is wrong.
      const reason = error instanceof Error ? error.message : String(error);
      throw new PmgError('internal', `the dataset ${name} could not be read: ${reason}`, { cause: error });
    });
    return loading;
  };
  const named = async (c: Context): Promise<DatasetCatalog> => {
    if (c.req.param('name') !== name) throw new PmgError('not-found', `no dataset named '${c.req.param('name')}'; this server has '${name}'`);
    return load();
  };

  const app = new Hono();
  app.onError((error, c) => jsonError(c, error));
  app.get('/', async (c) => {
    const catalog = await load();
    return c.json({ datasets: [{ name, kind, scene: catalog.scene, users: catalog.users.length, items: catalog.items.length }] });
  });
  app.get('/:name/users', async (c) => {
    const catalog = await named(c);
    const offset = intQuery(c, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = intQuery(c, 'limit', 50, 1, MAX_PAGE);
    const q = textQuery(c, 'q').toLowerCase();
    const matching = q ? { ...catalog, users: catalog.users.filter((u) => u.id.toLowerCase().includes(q)) } : catalog;
    return c.json(userPage(matching, offset, limit));
  });
  app.get('/:name/users/:id', async (c) => {
    const catalog = await named(c);
    const id = c.req.param('id');
    const user = catalog.users.find((u) => u.id === id);
    if (!user) throw new PmgError('not-found', `user ${id.slice(0, MAX_QUERY_CHARS)} is not among the ${catalog.users.length} users of ${name} with a sample`);
    return c.json(user);
  });
  app.get('/:name/items', async (c) => {
    const catalog = await named(c);
    const limit = intQuery(c, 'limit', 20, 1, MAX_PAGE);
    return c.json({ items: searchItems(catalog, textQuery(c, 'q'), limit) });
  });
  return app;
}

function intQuery(c: Context, field: string, fallback: number, min: number, max: number): number {
  const raw = c.req.query(field);
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new PmgError('invalid-input', `${field} must be an integer from ${min} to ${max}, got '${raw.slice(0, 40)}'`, { details: { field } });
  }
  return value;
}

function textQuery(c: Context, field: string): string {
  const raw = c.req.query(field) ?? '';
  if (raw.length > MAX_QUERY_CHARS) {
    throw new PmgError('invalid-input', `${field} is ${raw.length} characters long, over the limit of ${MAX_QUERY_CHARS}`, { details: { field } });
  }
  return raw;
}
