/**
 * One dataset folder (`pmg serve --data DIR`) as the web app browses it: its users (each with a job-ready history
 * and suggested targets from the dataset's protocol) and its items (searchable by title).
 *
 * The kind is told by the files: `movies.csv` + `ratings.csv` → MovieLens, `user_data.txt` → POG, an
 * `Annotations/` folder → stickers (SER-30K layout). Each user is its protocol's sample (src/data):
 * - MovieLens: the official protocol (history = the top 3 positives, target = the next one); further suggested
 *   targets are the user's next positives in the same order (up to MAX_TARGETS in all).
 * - POG: the official protocol (history = the last 5 usable clicks, target = the seeded outfit item); further
 *   suggested targets are the outfit's other usable items.
 * - stickers: a theme plays the user; its latest window (5 stickers of history, the next as target).
 * Users the protocol skips (too few positives, no images) are not listed.
 *
 * Histories and targets carry no `image`: a job's history images must be uploads (docs/serve.md), and dataset image
 * paths are server paths a client must not send back. Items keep their title, genres/category, keywords.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { loadMovieLens, movieItem, movieLensSamples, officialOrder } from '../data/movielens.js';
import { loadPog, pogItem, pogSamples } from '../data/pog.js';
import { loadStickers, stickerItem, stickerSamples } from '../data/stickers.js';
import type { History, Item, Sample, Scene } from '../spec/behaviour.js';

export type DatasetKind = 'movielens' | 'pog' | 'stickers';

/** At most this many suggested targets per user. */
export const MAX_TARGETS = 5;

export interface DatasetUserSummary {
  id: string;
  historyLength: number;
}

export interface DatasetUser {
  id: string;
  scene: Scene;
  history: History;
  /** The protocol's held-out target first, then further suggestions. */
  targets: Item[];
}

/** An item as the search lists it (job-ready: no server paths). */
export type DatasetItem = Item & { id: string; title: string };

export interface DatasetCatalog {
  name: string;
  kind: DatasetKind;
  scene: Scene;
  users: DatasetUser[];
  items: DatasetItem[];
}

/** The kind of a dataset folder, told by its files; a folder of none of them is one clear error. */
export function detectDatasetKind(dir: string): DatasetKind {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new PmgError('file-not-found', `data: dataset folder not found: ${dir}`, { details: { dir, field: 'data' } });
  }
  if (existsSync(join(dir, 'movies.csv')) && existsSync(join(dir, 'ratings.csv'))) return 'movielens';
  if (existsSync(join(dir, 'user_data.txt'))) return 'pog';
  if (existsSync(join(dir, 'Annotations'))) return 'stickers';
  throw new PmgError(
    'invalid-argument',
    `data: ${dir} is not a dataset folder pmg knows: expected movies.csv + ratings.csv (MovieLens), user_data.txt (POG) or Annotations/ (stickers)`,
    { details: { dir, field: 'data' } },
  );
}

/** The dataset's name in URLs: the folder's base name. */
export function datasetName(dir: string): string {
  return basename(resolve(dir));
}

/** Loads the folder with src/data's loader and protocol (a few seconds for ml-latest-small). */
export async function loadDatasetCatalog(dir: string): Promise<DatasetCatalog> {
  const kind = detectDatasetKind(dir);
  const name = datasetName(dir);
  if (kind === 'movielens') {
    const data = await loadMovieLens(dir);
    const samples = movieLensSamples(data, { protocol: 'official' }).samples;
    const users = samples.map((sample) => {
      const shown = new Set([...sample.history.items, sample.target.item!].map((i) => i.id));
      const more = officialOrder(data.ratings.get(sample.user) ?? [])
        .map((r) => r.movieId)
        .filter((id) => !shown.has(id))
        .map((id) => movieItem(data, id));
      return datasetUser(sample, more);
    });
    const items = [...data.movies.keys()].map((id) => movieItem(data, id));
    return catalog(name, kind, 'movie', users, items);
  }
  if (kind === 'pog') {
    const data = await loadPog(dir);
    const samples = pogSamples(data, { protocol: 'official' }).samples;
    const byId = new Map(data.users.map((u) => [u.id, u]));
    const users = samples.map((sample) => {
      const outfit = data.outfits.get(byId.get(sample.user)!.outfit) ?? [];
      const more = outfit
        .filter((id) => id !== sample.target.item!.id)
        .map((id) => pogItem(data, id))
        .filter((i): i is Item => i !== undefined);
      return datasetUser(sample, more);
    });
    const items = [...data.items.keys()].map((id) => pogItem(data, id)).filter((i): i is Item => i !== undefined);
    return catalog(name, kind, 'fashion', users, items);
  }
  const data = await loadStickers(dir);
  const latest = new Map<string, Sample>();
  for (const sample of stickerSamples(data).samples) latest.set(sample.user, sample);
  const users = [...latest.values()].map((sample) => datasetUser(sample, []));
  const items = [...data.themes.values()].flat().map(stickerItem);
  return catalog(name, kind, 'sticker', users, items);
}

function catalog(name: string, kind: DatasetKind, scene: Scene, users: DatasetUser[], items: Item[]): DatasetCatalog {
  return { name, kind, scene, users, items: items.map(jobItem).filter((i): i is DatasetItem => i.id !== undefined && i.title !== undefined) };
}

function datasetUser(sample: Sample, more: Item[]): DatasetUser {
  return {
    id: sample.user,
    scene: sample.scene,
    history: { items: sample.history.items.map(jobItem) },
    targets: [sample.target.item!, ...more].slice(0, MAX_TARGETS).map(jobItem),
  };
}

/** The item without its server-side image path. */
function jobItem(item: Item): Item {
  const { image: _image, ...rest } = item;
  return rest;
}

/** A page of users (offset, limit already checked). */
export function userPage(catalog: DatasetCatalog, offset: number, limit: number): { users: DatasetUserSummary[]; total: number } {
  return {
    users: catalog.users.slice(offset, offset + limit).map((u) => ({ id: u.id, historyLength: u.history.items.length })),
    total: catalog.users.length,
  };
}

/**
 * Items whose title contains `query` (case-insensitive), titles that start with it first, then the dataset's order.
 * An empty query lists the first `limit` items.
 */
export function searchItems(catalog: DatasetCatalog, query: string, limit: number): DatasetItem[] {
  const q = query.trim().toLowerCase();
  if (!q) return catalog.items.slice(0, limit);
  const prefix: DatasetItem[] = [];
  const inner: DatasetItem[] = [];
  for (const item of catalog.items) {
    const at = item.title.toLowerCase().indexOf(q);
    if (at === 0) prefix.push(item);
    else if (at > 0) inner.push(item);
  }
  return [...prefix, ...inner].slice(0, limit);
}
