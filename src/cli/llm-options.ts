/**
 * LLM settings shared by the commands that call an LLM (`pmg keywords`, `pmg generate`, ...):
 * `--llm`, `--llm-model` and `--config`, with `pmg.config.json` as the fallback, and the keyword
 * cache flags `--cache` / `--no-cache`.
 */
import { resolve } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { openKeywordCache, type KeywordCache } from '../personalize/keyword-cache.js';
import type { PmgConfig } from '../settings/config-file.js';
import { cacheDatabaseFile, type Settings } from '../settings/settings.js';
import { commandSettings } from './command-settings.js';
import { booleanOption, stringOption, type CommandContext, type OptionSpec } from './command.js';

/** The config file moved to settings/config-file.ts; these names stay for the CLI's callers. */
export { PMG_CONFIG_KEYS, readPmgConfig, type PmgConfig } from '../settings/config-file.js';

/** The option specs of the LLM flags, for a command's `options`. */
export const llmCommandOptions: Record<'llm' | 'llm-model' | 'config', OptionSpec> = {
  llm: { type: 'string', value: 'SPEC', description: 'onnx:<folder or repo id> or openai:<base URL>' },
  'llm-model': { type: 'string', value: 'NAME', description: 'model name for openai: servers' },
  config: { type: 'string', value: 'FILE', description: 'config file with "llm" and "llmModel" (default: ./pmg.config.json if present)' },
};

/** The keyword cache flags, for a command's `options`. */
export const keywordCacheOptions: Record<'no-cache' | 'cache', OptionSpec> = {
  'no-cache': { type: 'boolean', description: 'neither read nor write the keyword cache' },
  cache: {
    type: 'string',
    value: 'FILE',
    description: 'keyword cache file (default: <cache folder>/keywords.sqlite; cache folder: PMG_CACHE_DIR, else $XDG_CACHE_HOME/pmg, else ~/.cache/pmg)',
  },
};

/** `--llm` / `--llm-model`, each falling back to the config file. Both may be undefined. */
export function llmSettings(context: CommandContext): PmgConfig {
  const settings = commandSettings(context, { config: true });
  const llm = stringOption(context, 'llm') ?? settings.llm.spec;
  const llmModel = stringOption(context, 'llm-model') ?? settings.llm.model;
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
export function openChosenKeywordCache(choice: { noCache: boolean; file?: string }, settings: Settings): KeywordCache | undefined {
  return choice.noCache ? undefined : openKeywordCache(choice.file ?? cacheDatabaseFile(settings));
}
