/**
 * Behaviours to text (method.md 1.1): each history item becomes one short line, the lines are
 * joined into one numbered list `0. <item> 1. <item> ...`, and conversations become alternating
 * `speaker: text` turns. All user text is escaped so it cannot break the prompt's structure,
 * and long fields are cut (lengths in `cutLengths`, documented in docs/keywords.md).
 */
import { PmgError } from '../errors/pmg-error.js';
import type { ConversationTurn, History, Item, Scene } from '../spec/behaviour.js';
import type { Captioner } from '../spec/captioner.js';

/** Turns an image (path or URL) into a short caption: a function or a Captioner (providers/captioner). */
export type CaptionImage = ((image: string) => Promise<string>) | Captioner;

/** Characters kept per field before `…` is appended. */
export const cutLengths = {
  title: 120,
  description: 300,
  caption: 200,
  category: 60,
  genre: 30,
  keyword: 40,
  speaker: 40,
  turn: 300,
} as const;

/** Most genres and keywords shown per movie item (official: five keywords). */
export const listLimits = { genres: 6, keywords: 5 } as const;

export interface VerbalizeOptions {
  /** Used for items that have an image but no title or caption. */
  captioner?: CaptionImage;
}

/**
 * Make user text safe inside a prompt: control characters, newlines and Unicode line
 * separators become spaces; runs of `#` become one `#` (no `### Human:` turn markers);
 * double quotes become single quotes (templates quote values with `"`); `{{` braces are
 * split; whitespace is collapsed; the result is cut to `max` characters.
 */
export function escapePromptText(text: string, max: number): string {
  let s = text.normalize('NFC');
  s = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  s = s.replace(/#{2,}/g, '#');
  s = s.replace(/["\u201c\u201d]/g, "'");
  s = s.replace(/\{\{/g, '{ {').replace(/\}\}/g, '} }');
  s = s.replace(/\s+/g, ' ').trim();
  return cut(s, max);
}

function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  const chars = Array.from(s);
  if (chars.length <= max) return s;
  return `${chars
    .slice(0, max - 1)
    .join('')
    .trimEnd()}…`;
}

/** One history item as a line of text for `scene`. `index` is only used in error messages. */
export async function verbalizeItem(scene: Scene, item: Item, index: number, options: VerbalizeOptions = {}): Promise<string> {
  const title = clean(item.title, cutLengths.title);
  const caption = clean(item.caption, cutLengths.caption);
  const description = clean(item.description, cutLengths.description);
  let name: string;
  switch (scene) {
    case 'movie':
      name = title || caption || description;
      break;
    case 'fashion':
      name = title || caption || description;
      break;
    case 'sticker':
      // A sticker is known by its name, else its description (emotion) or caption.
      name = title || description || caption;
      break;
  }
  if (!name) name = await captionImage(item, index, options);
  if (scene !== 'movie') return name;
  const genres = (item.genres ?? [])
    .map((g) => clean(g, cutLengths.genre))
    .filter(Boolean)
    .slice(0, listLimits.genres);
  const keywords = (item.keywords ?? [])
    .map((k) => clean(k, cutLengths.keyword))
    .filter(Boolean)
    .slice(0, listLimits.keywords);
  let line = name;
  if (genres.length) line += ` (${genres.join(', ')})`;
  if (keywords.length) line += `: ${keywords.join(', ')}`;
  return line;
}

/** True when an item has no text to verbalize, so only a caption of its image can name it. */
export function needsCaption(item: Item): boolean {
  return ![item.title, item.caption, item.description].some((t) => t !== undefined && escapePromptText(t, 1).length > 0);
}

/**
 * Refuse, before any model loads, a history with an item that has only an image when no captioner is configured
 * (the same error verbalizing it would give).
 */
export function checkCaptionable(items: readonly Item[], hasCaptioner: boolean): void {
  items.forEach((item, index) => {
    if (needsCaption(item)) checkCaptionPossible(item, index, hasCaptioner);
  });
}

function checkCaptionPossible(item: Item, index: number, hasCaptioner: boolean): asserts item is Item & { image: string } {
  const label = `history item ${index}${item.id ? ` (id ${item.id})` : ''}`;
  if (!item.image) {
    throw new PmgError('invalid-input', `${label} has no title, caption, description or image`, { details: { index } });
  }
  if (!hasCaptioner) {
    throw new PmgError(
      'invalid-input',
      `${label} has only an image (${item.image}) and no captioner is configured; add a "title" or "caption", or configure a captioner (onnx:<folder or repo id>)`,
      { details: { index, image: item.image } },
    );
  }
}

async function captionImage(item: Item, index: number, options: VerbalizeOptions): Promise<string> {
  const label = `history item ${index}${item.id ? ` (id ${item.id})` : ''}`;
  checkCaptionPossible(item, index, options.captioner !== undefined);
  const captioner = options.captioner!;
  const text = typeof captioner === 'function' ? await captioner(item.image) : await captioner.caption(item.image);
  const caption = clean(text, cutLengths.caption);
  if (!caption) {
    throw new PmgError('no-output-generated', `the captioner returned nothing for ${label} (${item.image}); add a "title" or "caption"`, {
      details: { index, image: item.image, raw: '' },
    });
  }
  return caption;
}

/** All items as one numbered list starting at 0: `0. <item> 1. <item> ...` (official form). */
export async function verbalizeItems(scene: Scene, items: readonly Item[], options: VerbalizeOptions = {}): Promise<string> {
  return numberedItems(await verbalizeEach(scene, items, options));
}

/** Each item's text, unnumbered (callers that choose which items go in: the soft prompt's fit). */
export async function verbalizeEach(scene: Scene, items: readonly Item[], options: VerbalizeOptions = {}): Promise<string[]> {
  const texts: string[] = [];
  for (let i = 0; i < items.length; i++) texts.push(await verbalizeItem(scene, items[i]!, i, options));
  return texts;
}

/** Item texts as the prompts list them: `0. … 1. …`. */
export function numberedItems(texts: readonly string[]): string {
  return texts.map((text, i) => `${i}. ${text}`).join(' ');
}

/** A conversation as alternating turns, one per line: `speaker: text`. */
export function verbalizeConversation(turns: readonly ConversationTurn[]): string {
  return turns.map((t) => `${clean(t.speaker, cutLengths.speaker) || 'someone'}: ${clean(t.text, cutLengths.turn)}`).join('\n');
}

/** The history of a user as prompt text. */
export async function verbalizeHistory(scene: Scene, history: History, options: VerbalizeOptions = {}): Promise<{ items: string; conversation: string }> {
  return {
    items: await verbalizeItems(scene, history.items, options),
    conversation: verbalizeConversation(history.conversation ?? []),
  };
}

/** The fields of a target item for the target prompts (title, genres, synopsis). */
export function verbalizeTargetItem(item: Item): { title: string; genres: string; synopsis: string; category: string } {
  return {
    title: clean(item.title, cutLengths.title) || clean(item.caption, cutLengths.caption),
    genres: (item.genres ?? [])
      .map((g) => clean(g, cutLengths.genre))
      .filter(Boolean)
      .slice(0, listLimits.genres)
      .join(', '),
    synopsis: clean(item.description, cutLengths.description),
    category: clean(item.category, cutLengths.category),
  };
}

function clean(text: string | undefined, max: number): string {
  return text === undefined ? '' : escapePromptText(text, max);
}
