/**
 * Prompt templates for keyword extraction and for the soft preference branch (`<scene>-soft`, soft/soft-embeddings.ts). The shipped templates are JSON files in
 * assets/prompts/ (one per prompt, each with a `version` that is part of the cache key);
 * `--prompts DIR` overrides the ones whose file is present in DIR (same file name).
 * Templates use `{{name}}` placeholders, filled in one pass (values are never re-expanded). Placeholders a
 * template lists under `optional` may be empty: a line that uses one whose value is empty is left out (a target
 * without a synopsis gets no "Synopsis:" line).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { assetPath } from '../core/package-root.js';
import { parseJsonText } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';

/** Every template pmg knows, with the placeholders each may use. */
export const templateVariables = {
  'movie-preference': ['count', 'items'],
  'fashion-preference': ['count', 'items'],
  'sticker-character': ['items'],
  'sticker-conversation': ['conversation'],
  'movie-target': ['ask', 'title', 'genres', 'synopsis'],
  'fashion-target': ['ask', 'title', 'category', 'synopsis'],
  'movie-attribute': ['count', 'items', 'attribute'],
  'fashion-attribute': ['count', 'items', 'attribute'],
  'select-keywords': ['count', 'items', 'candidates', 'domain'],
  'movie-preference-json': ['count', 'items'],
  'fashion-preference-json': ['count', 'items'],
  'movie-target-json': ['ask', 'title', 'genres', 'synopsis'],
  'fashion-target-json': ['ask', 'title', 'category', 'synopsis'],
  'movie-soft': ['items'],
  'fashion-soft': ['items'],
  'sticker-soft': ['items'],
} as const satisfies Record<string, readonly string[]>;

export type TemplateName = keyof typeof templateVariables;
export const templateNames = Object.keys(templateVariables) as TemplateName[];

export interface PromptTemplate {
  name: TemplateName;
  /** Changes whenever the wording changes; part of the cache key. */
  version: string;
  purpose: string;
  /** The template text, lines joined with '\n'. */
  text: string;
  /** Where it was loaded from. */
  source: string;
  /** Target templates: how many keywords to ask for and how many to use. */
  ask?: number;
  use?: number;
  /** Attribute templates: the attributes and keywords asked per attribute. */
  attributes?: string[];
  perAttribute?: number;
  /** Placeholders that may be empty; a line using an empty one is left out. */
  optional?: string[];
}

export type PromptSet = Record<TemplateName, PromptTemplate>;

export interface LoadPromptsOptions {
  /** A folder of override files (`<template-name>.json`); only the files present override. */
  dir?: string;
}

/** The shipped templates, with any overrides from `options.dir`. */
export function loadPrompts(options: LoadPromptsOptions = {}): PromptSet {
  const set = {} as PromptSet;
  for (const name of templateNames) set[name] = loadTemplateFile(assetPath('assets', 'prompts', `${name}.json`), name);
  if (options.dir !== undefined) {
    const dir = options.dir;
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new PmgError('file-not-found', `prompts folder ${dir} does not exist or is not a folder; check the path`, { details: { dir, field: 'prompts' } });
    }
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const name = file.slice(0, -'.json'.length);
      if (!(name in templateVariables)) {
        throw new PmgError('invalid-input', `prompts folder ${dir}: unknown template file ${file}; known names: ${templateNames.join(', ')}`, {
          details: { dir, file },
        });
      }
      set[name as TemplateName] = loadTemplateFile(join(dir, file), name as TemplateName);
    }
  }
  return set;
}

/** Read and check one template file. */
export function loadTemplateFile(path: string, name: TemplateName): PromptTemplate {
  let raw: unknown;
  try {
    raw = parseJsonText(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file-not-found' : 'invalid-input';
    throw new PmgError(code, `prompt template ${path}: ${(error as Error).message.split('\n')[0]}`, { cause: error, details: { file: path } });
  }
  const bad = (message: string): never => {
    throw new PmgError('invalid-input', `prompt template ${path}: ${message}`, { details: { file: path } });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('must be a JSON object with "version" and "template"');
  const t = raw as Record<string, unknown>;
  if (typeof t.version !== 'string' && typeof t.version !== 'number') bad('"version" must be a string or a number');
  let text: string;
  if (typeof t.template === 'string') text = t.template;
  else if (Array.isArray(t.template) && t.template.every((l) => typeof l === 'string')) text = (t.template as string[]).join('\n');
  else return bad('"template" must be a string or a list of lines');
  if (!text.trim()) bad('"template" is empty');
  const allowed: readonly string[] = templateVariables[name];
  for (const match of text.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    if (!allowed.includes(match[1]!)) bad(`unknown placeholder {{${match[1]}}}; this template may use ${allowed.map((v) => `{{${v}}}`).join(', ')}`);
  }
  const template: PromptTemplate = {
    name,
    version: String(t.version),
    purpose: typeof t.purpose === 'string' ? t.purpose : '',
    text,
    source: path,
  };
  for (const key of ['ask', 'use', 'perAttribute'] as const) {
    if (t[key] === undefined) continue;
    const n = t[key];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 50) bad(`"${key}" must be a whole number from 1 to 50`);
    template[key] = n as number;
  }
  if (t.attributes !== undefined) {
    if (!Array.isArray(t.attributes) || t.attributes.length === 0 || !t.attributes.every((a) => typeof a === 'string' && a.trim())) {
      bad('"attributes" must be a non-empty list of strings');
    }
    template.attributes = t.attributes as string[];
  }
  if (t.optional !== undefined) {
    if (!Array.isArray(t.optional) || !t.optional.every((o) => typeof o === 'string' && allowed.includes(o))) {
      bad(`"optional" must be a list of this template's placeholders (${allowed.join(', ')})`);
    }
    template.optional = t.optional as string[];
  }
  return template;
}

/**
 * Fill a template's placeholders; every placeholder it uses must have a value. Lines that use an optional
 * placeholder whose value is empty are left out.
 */
export function renderPrompt(template: PromptTemplate, values: Partial<Record<string, string | number>>): string {
  const optional = template.optional ?? [];
  const emptyOptional = (line: string): boolean =>
    [...line.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].some(([, key]) => optional.includes(key!) && String(values[key!] ?? '').trim() === '');
  const text = optional.length
    ? template.text
        .split('\n')
        .filter((line) => !emptyOptional(line))
        .join('\n')
    : template.text;
  return text.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) {
      throw new PmgError('internal', `prompt template ${template.name} uses {{${key}}} but no value was given`);
    }
    return String(value);
  });
}
