/**
 * Stickers in the SER-30K layout (Liu et al., ACM MM 2022) and the successors' window protocol.
 *
 * Layout (as in the SER-30K release):
 *   <data>/Annotations/image-level/{train,val,test}.json   (or <data>/Annotations/{train,val,test}.json)
 *   <data>/Images/<topic>/<file_name>
 * Each annotation file is `{ "annotations": [ { "topic", "file_name", "anno", "text"? }, ... ] }` where
 * `anno` is the emotion label (1..7 in SER-30K; a string label is used as is) and `text` the sticker's
 * OCR text when it has one. SER-30K's own train/val/test division is ignored: every annotation is read.
 *
 * A theme (topic) plays the user. Its stickers are ordered by file name (natural order, so sticker_2
 * before sticker_10); every 6 consecutive stickers give a sample (5 history + 1 target); all windows are
 * split 8:1:1 with the seed. A window with a missing image is skipped and counted ('missing-image').
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseJsonText } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';
import type { Item } from '../spec/behaviour.js';
import { SkipCounter, checkLimit, checkSeed, itemSample, requireDir, slidingWindows, windowSamples, type SampleQuery, type SampleSet } from './protocol.js';

export interface Sticker {
  topic: string;
  fileName: string;
  /** Emotion label as text: the label name from `emotionLabels`, else `label <n>`. */
  emotion: string;
  text?: string;
  /** Absolute path of the image (whether or not it exists). */
  image: string;
}

export interface StickerData {
  dir: string;
  /** topic -> stickers in natural file-name order. */
  themes: Map<string, Sticker[]>;
}

export interface StickerOptions {
  /** Names for numeric labels: label n gets emotionLabels[n - 1]. */
  emotionLabels?: string[];
}

export type StickerProtocol = 'window';
export const stickerProtocols: readonly StickerProtocol[] = ['window'];

export interface StickerSampleOptions extends SampleQuery {
  protocol?: StickerProtocol;
}

const annotationFiles = ['train.json', 'val.json', 'test.json'];
const naturalOrder = new Intl.Collator('en', { numeric: true }).compare;

function annotationDir(dir: string): string {
  for (const candidate of [join(dir, 'Annotations', 'image-level'), join(dir, 'Annotations')]) {
    if (annotationFiles.some((f) => existsSync(join(candidate, f)))) return candidate;
  }
  throw new PmgError(
    'file-not-found',
    `no sticker annotations in ${dir}: expected Annotations/image-level/{train,val,test}.json or Annotations/{train,val,test}.json (SER-30K layout)`,
    { details: { dir } },
  );
}

export async function loadStickers(dir: string, options: StickerOptions = {}): Promise<StickerData> {
  requireDir(dir, 'sticker');
  const annotations = annotationDir(dir);
  const themes = new Map<string, Sticker[]>();
  const seen = new Set<string>();
  for (const name of annotationFiles) {
    const file = join(annotations, name);
    if (!existsSync(file) || !statSync(file).isFile()) continue;
    let parsed: unknown;
    try {
      parsed = parseJsonText(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new PmgError('invalid-input', `${file}: not valid JSON (${(error as Error).message.split('\n')[0]})`, { cause: error });
    }
    const list = (parsed as { annotations?: unknown }).annotations;
    if (!Array.isArray(list)) throw new PmgError('invalid-input', `${file}: expected an object with an "annotations" array`);
    list.forEach((entry: unknown, index: number) => {
      const a = entry as { topic?: unknown; file_name?: unknown; anno?: unknown; text?: unknown };
      const where = `${file}: annotations[${index}]`;
      if (typeof a.topic !== 'string' || !a.topic) throw new PmgError('invalid-input', `${where}.topic must be a non-empty string`);
      if (typeof a.file_name !== 'string' || !a.file_name) throw new PmgError('invalid-input', `${where}.file_name must be a non-empty string`);
      if (typeof a.anno !== 'number' && typeof a.anno !== 'string')
        throw new PmgError('invalid-input', `${where}.anno must be an emotion label (number or string)`);
      const key = `${a.topic}/${a.file_name}`;
      if (seen.has(key)) return;
      seen.add(key);
      const emotion = typeof a.anno === 'string' ? a.anno : (options.emotionLabels?.[a.anno - 1] ?? `label ${a.anno}`);
      const text = typeof a.text === 'string' && a.text.trim() ? a.text.trim() : undefined;
      let stickers = themes.get(a.topic);
      if (!stickers) themes.set(a.topic, (stickers = []));
      stickers.push({ topic: a.topic, fileName: a.file_name, emotion, ...(text ? { text } : {}), image: join(dir, 'Images', a.topic, a.file_name) });
    });
  }
  for (const stickers of themes.values()) stickers.sort((x, y) => naturalOrder(x.fileName, y.fileName));
  return { dir, themes: new Map([...themes.entries()].sort((x, y) => naturalOrder(x[0], y[0]))) };
}

/** A sticker as a history/target item: its text (or emotion) as title, the emotion as description. */
export function stickerItem(sticker: Sticker): Item {
  return {
    id: `${sticker.topic}/${sticker.fileName}`,
    title: sticker.text ?? `${sticker.emotion} sticker`,
    description: `emotion: ${sticker.emotion}`,
    keywords: [sticker.emotion],
    image: sticker.image,
  };
}

export function stickerSamples(data: StickerData, options: StickerSampleOptions = {}): SampleSet {
  checkLimit(options.limit);
  checkSeed(options.seed);
  if (options.protocol !== undefined && options.protocol !== 'window') {
    throw new PmgError('invalid-argument', `stickers have only the window protocol (PMG's sticker data is unreleased), got '${String(options.protocol)}'`);
  }
  const skip = new SkipCounter();
  const windows: { id: string; user: string; stickers: Sticker[] }[] = [];
  for (const [topic, stickers] of data.themes) {
    const found = slidingWindows(stickers);
    if (found.length === 0) skip.add('too-few-stickers');
    for (const w of found) windows.push({ id: `stickers:${topic}:window-${w.start}`, user: topic, stickers: [...w.history, w.target] });
  }
  const exists = new Map<string, boolean>();
  const present = (path: string): boolean => {
    let value = exists.get(path);
    if (value === undefined) exists.set(path, (value = existsSync(path)));
    return value;
  };
  const samples = windowSamples(windows, options, skip, (w) => {
    if (!w.stickers.every((s) => present(s.image))) return 'missing-image';
    const items = w.stickers.map(stickerItem);
    return itemSample(w.id, w.user, 'sticker', items.slice(0, -1), items[items.length - 1]!);
  });
  return { samples, skipped: skip.counts };
}
