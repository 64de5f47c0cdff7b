/**
 * Reading and validating the user's behaviour files: a history (items in order and/or a
 * conversation) and a target (one item, or the current conversation for stickers).
 * Every error names the file, the item index and the field, e.g.
 * `h.json: items[2].title must be a string`. Limits are documented in docs/keywords.md.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { parseJsonText } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';
import type { ConversationTurn, History, Item, Target } from '../spec/behaviour.js';

export interface InputLimits {
  /** Largest accepted input file in bytes. */
  maxFileBytes: number;
  /** Most items in a history. */
  maxItems: number;
  /** Most characters in any one text field (title, description, caption, a keyword, a turn). */
  maxFieldChars: number;
  /** Most entries in a list field (genres, keywords). */
  maxListEntries: number;
  /** Most turns in a conversation. */
  maxTurns: number;
}

export const defaultInputLimits: Readonly<InputLimits> = {
  maxFileBytes: 16 * 1024 * 1024,
  maxItems: 200,
  maxFieldChars: 2000,
  maxListEntries: 50,
  maxTurns: 200,
};

const itemStringFields = ['title', 'category', 'description', 'image', 'caption'] as const;
const itemListFields = ['genres', 'keywords'] as const;

/** Read and validate a history file. */
export function readHistoryFile(path: string, limits: InputLimits = defaultInputLimits): History {
  return validateHistory(readJsonFile(path, 'history', limits), basename(path), limits);
}

/** Read and validate a target file. */
export function readTargetFile(path: string, limits: InputLimits = defaultInputLimits): Target {
  return validateTarget(readJsonFile(path, 'target', limits), basename(path), limits);
}

/** Read a JSON file with a size cap; errors say which file and what is wrong. */
export function readJsonFile(path: string, role: string, limits: InputLimits = defaultInputLimits): unknown {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new PmgError('invalid-input', `${role} file ${path} is not a file`, { details: { file: path } });
    size = stat.size;
  } catch (error) {
    if (error instanceof PmgError) throw error;
    throw new PmgError('file-not-found', `${role} file ${path} does not exist; check the path`, { cause: error, details: { file: path } });
  }
  if (size > limits.maxFileBytes) {
    throw new PmgError(
      'invalid-input',
      `${role} file ${path} is ${formatBytes(size)}, over the ${formatBytes(limits.maxFileBytes)} limit; keep only the items you need`,
      { details: { file: path, size, limit: limits.maxFileBytes } },
    );
  }
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  try {
    return parseJsonText(text);
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    throw new PmgError('invalid-input', `${basename(path)}: not valid JSON (${reason}); the ${role} file must be JSON`, {
      cause: error,
      details: { file: path },
    });
  }
}

/**
 * Validate a parsed history: an array of items, or `{ items: [...], conversation: [...] }`.
 * `source` is the name used in messages (usually the file's base name; '' for none); `root` is the field path of
 * the history inside a larger value (the library's request: 'history'), so messages and `details.field` read
 * `history.items[2].title`.
 */
export function validateHistory(value: unknown, source: string, limits: InputLimits = defaultInputLimits, root = ''): History {
  const at = fieldPath(root);
  let rawItems: unknown;
  let rawConversation: unknown;
  // Items are named items[i] in messages whether the value is a bare list or has an "items" key.
  if (Array.isArray(value)) {
    rawItems = value;
  } else if (isObject(value)) {
    rawItems = value.items ?? [];
    rawConversation = value.conversation;
  } else {
    fail(source, root, `${root || 'the history'} must be a list of items or an object with "items" and/or "conversation"`);
  }
  if (!Array.isArray(rawItems)) fail(source, at('items'), `${at('items')} must be a list of items`);
  if (rawItems.length > limits.maxItems) {
    fail(source, at('items'), `the history has ${rawItems.length} items, over the limit of ${limits.maxItems}; keep the most recent ones`);
  }
  const items = rawItems.map((raw, i) => validateItem(raw, source, at(`items[${i}]`), limits));
  const history: History = { items };
  if (rawConversation !== undefined) history.conversation = validateConversation(rawConversation, source, at('conversation'), limits);
  if (items.length === 0 && (history.conversation?.length ?? 0) === 0) {
    fail(source, root, 'the history is empty; give at least one item (or a conversation for stickers)');
  }
  return history;
}

/**
 * Validate a parsed target: an item object, `{ item: {...} }`, `{ conversation: [...] }`
 * (both allowed together), or a bare list of conversation turns. `root` as for `validateHistory`.
 */
export function validateTarget(value: unknown, source: string, limits: InputLimits = defaultInputLimits, root = ''): Target {
  const at = fieldPath(root);
  if (Array.isArray(value)) return { conversation: nonEmptyConversation(value, source, at('conversation'), limits) };
  if (!isObject(value)) fail(source, root, `${root || 'the target'} must be an item object, {"item": {...}} or {"conversation": [...]}`);
  const target: Target = {};
  if ('item' in value || 'conversation' in value) {
    if (value.item !== undefined) target.item = validateItem(value.item, source, at('item'), limits);
    if (value.conversation !== undefined) target.conversation = nonEmptyConversation(value.conversation, source, at('conversation'), limits);
  } else {
    target.item = validateItem(value, source, root, limits);
  }
  if (!target.item && !target.conversation) fail(source, root, 'the target has neither an item nor a conversation');
  return target;
}

/** Validate one item; `path` is its place in the file (e.g. `items[2]`), '' for the top level. */
export function validateItem(raw: unknown, source: string, path: string, limits: InputLimits = defaultInputLimits): Item {
  const where = path || 'the item';
  if (!isObject(raw)) fail(source, path, `${where} must be an object with at least a "title"`);
  const field = fieldPath(path);
  const item: Item = {};
  if (raw.id !== undefined && raw.id !== null) {
    if (typeof raw.id !== 'string' && typeof raw.id !== 'number') fail(source, field('id'), `${field('id')} must be a string or a number`);
    item.id = checkText(String(raw.id), source, field('id'), limits);
  }
  for (const name of itemStringFields) {
    const v = raw[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') fail(source, field(name), `${field(name)} must be a string`);
    item[name] = checkText(v, source, field(name), limits);
  }
  for (const name of itemListFields) {
    const v = raw[name];
    if (v === undefined || v === null) continue;
    item[name] = checkList(v, source, field(name), limits);
  }
  const hasText = [item.title, item.caption, item.description].some((t) => t !== undefined && t.trim() !== '');
  if (!hasText && !item.image) {
    fail(source, path, `${where} needs a "title" (or a "caption", "description" or "image")`);
  }
  return item;
}

export function validateConversation(raw: unknown, source: string, path: string, limits: InputLimits = defaultInputLimits): ConversationTurn[] {
  if (!Array.isArray(raw)) fail(source, path, `${path} must be a list of {"speaker", "text"} turns`);
  if (raw.length > limits.maxTurns) fail(source, path, `${path} has ${raw.length} turns, over the limit of ${limits.maxTurns}; keep the latest ones`);
  return raw.map((turn, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(turn)) fail(source, at, `${at} must be an object with "speaker" and "text"`);
    if (typeof turn.speaker !== 'string') fail(source, `${at}.speaker`, `${at}.speaker must be a string`);
    if (typeof turn.text !== 'string') fail(source, `${at}.text`, `${at}.text must be a string`);
    return { speaker: checkText(turn.speaker, source, `${at}.speaker`, limits), text: checkText(turn.text, source, `${at}.text`, limits) };
  });
}

function nonEmptyConversation(raw: unknown, source: string, path: string, limits: InputLimits): ConversationTurn[] {
  const turns = validateConversation(raw, source, path, limits);
  if (turns.length === 0) fail(source, path, `${path} is empty; give at least one turn`);
  return turns;
}

function checkText(value: string, source: string, field: string, limits: InputLimits): string {
  if (value.length > limits.maxFieldChars) {
    fail(source, field, `${field} is ${value.length} characters long, over the limit of ${limits.maxFieldChars}; shorten it`);
  }
  return value;
}

function checkList(value: unknown, source: string, field: string, limits: InputLimits): string[] {
  // A MovieLens-style 'Action|Comedy' string is accepted as a list.
  const list =
    typeof value === 'string'
      ? value
          .split('|')
          .map((s) => s.trim())
          .filter(Boolean)
      : value;
  if (!Array.isArray(list)) fail(source, field, `${field} must be a list of strings`);
  if (list.length > limits.maxListEntries) fail(source, field, `${field} has ${list.length} entries, over the limit of ${limits.maxListEntries}`);
  return list.map((entry, i) => {
    if (typeof entry !== 'string') fail(source, `${field}[${i}]`, `${field}[${i}] must be a string`);
    return checkText(entry, source, `${field}[${i}]`, limits);
  });
}

/** `fieldPath('history')('items[0]')` → 'history.items[0]'; with an empty root, the name itself. */
function fieldPath(root: string): (name: string) => string {
  return (name) => (root ? `${root}.${name}` : name);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One line: `<source>: <message>` (no prefix without a source); `details.field` is the field path. */
function fail(source: string, field: string, message: string): never {
  throw new PmgError('invalid-input', source ? `${source}: ${message}` : message, {
    details: { ...(source ? { file: source } : {}), ...(field ? { field } : {}) },
  });
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${(n / 1024).toFixed(1)} KB`;
}
