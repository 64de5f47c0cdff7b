/**
 * POG (Alibaba iFashion outfits, Chen et al. KDD 2019) and PMG's fashion protocol.
 *
 * Files in the data folder (plain text, one record per line, comma-separated, lists joined by ';'):
 *   user_data.txt    user_id,item_id;item_id;...,outfit_id     (the user's clicked items, in click order)
 *   item_data.txt    item_id,cate_id,pic_url,title             (the title is everything after the third comma)
 *   outfit_data.txt  outfit_id,item_id;item_id;...
 * Images: a folder (default `<data>/images`) holding `<item_id>.jpg|jpeg|png|webp`, downloaded from pic_url.
 * An item is *usable* when it is listed in item_data.txt and its image is in the folder.
 *
 * Only what the protocol needs is kept: the first `maxUsers` distinct users of user_data.txt (official:
 * 1000; a user's later lines are ignored), and the items and outfits they mention.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SeededRandom } from '../core/random.js';
import { PmgError } from '../errors/pmg-error.js';
import type { Item, Sample } from '../spec/behaviour.js';
import {
  ImageFolder,
  SkipCounter,
  checkLimit,
  checkSeed,
  requireDir,
  itemSample,
  seedFor,
  slidingWindows,
  windowSamples,
  type SampleQuery,
  type SampleSet,
} from './protocol.js';

export interface PogItem {
  id: string;
  category: string;
  pictureUrl: string;
  title: string;
}

export interface PogUser {
  id: string;
  clicks: string[];
  outfit: string;
}

export interface PogData {
  dir: string;
  users: PogUser[];
  items: Map<string, PogItem>;
  outfits: Map<string, string[]>;
  images: ImageFolder;
}

export interface PogOptions {
  /** Image folder (default `<dir>/images`). */
  images?: string;
  /** How many distinct users to read from user_data.txt (default 1000, the official protocol's). */
  maxUsers?: number;
}

export type PogProtocol = 'official' | 'window';
export const pogProtocols: readonly PogProtocol[] = ['official', 'window'];
export const POG_OFFICIAL_USERS = 1000;
export const POG_HISTORY = 5;

export interface PogSampleOptions extends SampleQuery {
  protocol: PogProtocol;
}

async function* textLines(file: string): AsyncGenerator<{ line: number; text: string }> {
  if (!existsSync(file) || !statSync(file).isFile())
    throw new PmgError('file-not-found', `data: POG file not found: ${file}`, { details: { file, field: 'data' } });
  const reader = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (let text of reader) {
    line++;
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') continue;
    yield { line, text };
  }
}

function splitList(value: string): string[] {
  return value
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
}

export async function loadPog(dir: string, options: PogOptions = {}): Promise<PogData> {
  requireDir(dir, 'POG');
  const maxUsers = options.maxUsers ?? POG_OFFICIAL_USERS;
  if (!Number.isInteger(maxUsers) || maxUsers < 1) throw new PmgError('invalid-argument', `maxUsers must be a positive integer, got ${maxUsers}`);
  const images = new ImageFolder(options.images ?? join(dir, 'images'), options.images === undefined ? 'the default <data>/images' : 'images');

  const users: PogUser[] = [];
  const seen = new Set<string>();
  const userFile = join(dir, 'user_data.txt');
  for await (const { line, text } of textLines(userFile)) {
    const parts = text.split(',');
    if (parts.length !== 3 || !parts[0]!.trim() || !parts[2]!.trim()) {
      throw new PmgError('invalid-input', `${userFile}:${line}: expected 'user_id,item;item;...,outfit_id' (3 comma-separated fields), found ${parts.length}`);
    }
    const id = parts[0]!.trim();
    if (seen.has(id)) continue;
    seen.add(id);
    users.push({ id, clicks: splitList(parts[1]!), outfit: parts[2]!.trim() });
    if (users.length >= maxUsers) break;
  }

  const wantedOutfits = new Set(users.map((u) => u.outfit));
  const outfits = new Map<string, string[]>();
  const outfitFile = join(dir, 'outfit_data.txt');
  for await (const { line, text } of textLines(outfitFile)) {
    const comma = text.indexOf(',');
    if (comma <= 0) throw new PmgError('invalid-input', `${outfitFile}:${line}: expected 'outfit_id,item;item;...'`);
    const id = text.slice(0, comma).trim();
    if (wantedOutfits.has(id)) outfits.set(id, splitList(text.slice(comma + 1)));
  }

  const wantedItems = new Set<string>();
  for (const u of users) u.clicks.forEach((i) => wantedItems.add(i));
  for (const list of outfits.values()) list.forEach((i) => wantedItems.add(i));
  const items = new Map<string, PogItem>();
  const itemFile = join(dir, 'item_data.txt');
  for await (const { line, text } of textLines(itemFile)) {
    const parts = text.split(',');
    if (parts.length < 4)
      throw new PmgError('invalid-input', `${itemFile}:${line}: expected 'item_id,cate_id,pic_url,title' (4 comma-separated fields), found ${parts.length}`);
    const id = parts[0]!.trim();
    if (!wantedItems.has(id)) continue;
    items.set(id, { id, category: parts[1]!.trim(), pictureUrl: parts[2]!.trim(), title: parts.slice(3).join(',').trim() });
  }
  return { dir, users, items, outfits, images };
}

/** An item as pmg sees it (title, category, image), or undefined when it is not usable. */
export function pogItem(data: PogData, id: string): Item | undefined {
  const item = data.items.get(id);
  const image = data.images.find(id);
  if (!item || !image) return undefined;
  return { id, title: item.title, category: item.category, image };
}

/**
 * Samples under a protocol.
 * - official (PMG [C]): per user (file order), history = the last 5 clicked usable items (in click order),
 *   target = a usable item of the user's outfit drawn with SeededRandom(seedFor(seed, user)), so a user's
 *   target does not depend on which other users are read. Skip reasons: 'no-history-image',
 *   'unknown-outfit', 'no-target-image'.
 * - window: every 6 consecutive usable clicked items (5 history + 1 target), split 8:1:1 by seed;
 *   users with fewer than 6 usable clicks count as 'too-few-items'.
 */
export function pogSamples(data: PogData, options: PogSampleOptions): SampleSet {
  checkLimit(options.limit);
  checkSeed(options.seed);
  const seed = options.seed ?? 0;
  const skip = new SkipCounter();
  const samples: Sample[] = [];
  if (options.protocol === 'official') {
    if (options.split)
      throw new PmgError(
        'invalid-argument',
        `the official POG protocol has no ${options.split} split (one sample per user); use the window protocol for an 8:1:1 split`,
      );
    for (const user of data.users) {
      if (options.limit !== undefined && samples.length >= options.limit) break;
      const history = user.clicks
        .map((id) => pogItem(data, id))
        .filter((i): i is Item => i !== undefined)
        .slice(-POG_HISTORY);
      if (history.length === 0) {
        skip.add('no-history-image');
        continue;
      }
      const outfit = data.outfits.get(user.outfit);
      if (!outfit) {
        skip.add('unknown-outfit');
        continue;
      }
      const candidates = outfit.map((id) => pogItem(data, id)).filter((i): i is Item => i !== undefined);
      if (candidates.length === 0) {
        skip.add('no-target-image');
        continue;
      }
      const random = new SeededRandom(seedFor(seed, user.id));
      const target = candidates[Math.floor(random.nextFloat() * candidates.length)]!;
      samples.push(itemSample(`pog:user-${user.id}`, user.id, 'fashion', history, target));
    }
    return { samples, skipped: skip.counts };
  }
  if (options.protocol !== 'window')
    throw new PmgError('invalid-argument', `unknown protocol '${String(options.protocol)}'; use one of ${pogProtocols.join(', ')}`);
  const windows: { id: string; user: string; history: Item[]; target: Item }[] = [];
  for (const user of data.users) {
    const usable = user.clicks.map((id) => pogItem(data, id)).filter((i): i is Item => i !== undefined);
    const found = slidingWindows(usable);
    if (found.length === 0) skip.add('too-few-items');
    for (const w of found) windows.push({ id: `pog:user-${user.id}:window-${w.start}`, user: user.id, history: w.history, target: w.target });
  }
  const windowed = windowSamples(windows, options, skip, (w) => itemSample(w.id, w.user, 'fashion', w.history, w.target));
  return { samples: windowed, skipped: skip.counts };
}
