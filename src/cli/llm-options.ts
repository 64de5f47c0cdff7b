/**
 * LLM settings shared by the commands that call an LLM (`pmg keywords`, `pmg generate`, ...):
 * `--llm`, `--llm-model` and `--config`, with `pmg.config.json` as the fallback, and the keyword
 * cache flags `--cache` / `--no-cache`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseJson } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';
import { defaultKeywordCachePath, openKeywordCache, type KeywordCache } from '../personalize/keyword-cache.js';
import { booleanOption, stringOption, type CommandContext, type OptionSpec } from './command.js';

export interface PmgConfig {
  llm?: string;
  llmModel?: string;
}

/** The keys `pmg.config.json` may hold; any other key gets a warning naming it. */
export const PMG_CONFIG_KEYS = ['llm', 'llmModel'] as const;

/**
 * `--config FILE`, else `pmg.config.json` in the working folder when present, else {}. Keys pmg does not
 * read are reported through `warn` (a typo such as "llmodel" would otherwise be ignored silently).
 */
export function readPmgConfig(cwd: string, file?: string, warn?: (message: string) => void): PmgConfig {
  const path = file ? resolve(cwd, file) : resolve(cwd, 'pmg.config.json');
  if (!file && !existsSync(path)) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    if (!missing) throw error;
    throw new PmgError('file-not-found', `config file ${path} does not exist; check --config`, { cause: error, details: { file: path } });
  }
  const raw = parseJson(text, `config file ${path}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new PmgError('invalid-input', `config file ${path} must be a JSON object`, { details: { file: path } });
  const config: PmgConfig = {};
  for (const key of PMG_CONFIG_KEYS) {
    const value = (raw as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !value.trim())
      throw new PmgError('invalid-input', `config file ${path}: "${key}" must be a non-empty string`, { details: { file: path, field: key } });
    config[key] = value;
  }
  const unknown = Object.keys(raw).filter((key) => !(PMG_CONFIG_KEYS as readonly string[]).includes(key));
  if (unknown.length && warn) {
    const known = PMG_CONFIG_KEYS.map((key) => `"${key}"`).join(', ');
    warn(
      `config file ${path}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => JSON.stringify(key)).join(', ')} ignored; pmg reads ${known}`,
    );
  }
  return config;
}

/** The option specs of the LLM flags, for a command's `options`. */
export const llmCommandOptions: Record<'llm' | 'llm-model' | 'config', OptionSpec> = {
  llm: { type: 'string', value: 'SPEC', description: 'onnx:<folder or repo id> or openai:<base URL>' },
  'llm-model': { type: 'string', value: 'NAME', description: 'model name for openai: servers' },
  config: { type: 'string', value: 'FILE', description: 'config file with "llm" and "llmModel" (default: ./pmg.config.json if present)' },
};

/** The keyword cache flags, for a command's `options`. */
export const keywordCacheOptions: Record<'no-cache' | 'cache', OptionSpec> = {
  'no-cache': { type: 'boolean', description: 'neither read nor write the keyword cache' },
  cache: { type: 'string', value: 'FILE', description: 'keyword cache file (default: <PMG_CACHE_DIR or ~/.cache/pmg>/keywords.sqlite)' },
};

/** `--llm` / `--llm-model`, each falling back to the config file. Both may be undefined. */
export function llmSettings(context: CommandContext): PmgConfig {
  const config = readPmgConfig(context.io.cwd, stringOption(context, 'config'), (message) => void context.io.stderr.write(`pmg: warning: ${message}\n`));
  const llm = stringOption(context, 'llm') ?? config.llm;
  const llmModel = stringOption(context, 'llm-model') ?? config.llmModel;
  return { ...(llm !== undefined ? { llm } : {}), ...(llmModel !== undefined ? { llmModel } : {}) };
}

/** Checks `--cache` / `--no-cache` (cheap; opens nothing). */
export function keywordCacheChoice(context: CommandContext): { noCache: boolean; file?: string } {
  const noCache = booleanOption(context, 'no-cache');
  const cacheFlag = stringOption(context, 'cache');
  if (noCache && cacheFlag !== undefined) throw new PmgError('invalid-argument', '--cache and --no-cache contradict each other; pass one');
  return { noCache, ...(cacheFlag !== undefined ? { file: resolve(context.io.cwd, cacheFlag) } : {}) };
}

/** Opens the keyword cache chosen by `keywordCacheChoice` (undefined with --no-cache). */
export function openChosenKeywordCache(choice: { noCache: boolean; file?: string }, env: NodeJS.ProcessEnv): KeywordCache | undefined {
  return choice.noCache ? undefined : openKeywordCache(choice.file ?? defaultKeywordCachePath(env));
}
