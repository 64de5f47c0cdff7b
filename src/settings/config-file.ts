/**
 * The config file: `pmg.config.json` in the working folder when present, or a file the caller names. It holds
 * defaults the settings carry (settings.ts): `{ "llm": "...", "llmModel": "..." }`. Keys pmg does not read are
 * reported through `warn` (a typo such as "llmodel" would otherwise be ignored silently).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseJson } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';

export interface PmgConfig {
  llm?: string;
  llmModel?: string;
}

/** The name looked for in the working folder. */
export const PMG_CONFIG_FILE = 'pmg.config.json';

/** The keys the config file may hold; any other key gets a warning naming it. */
export const PMG_CONFIG_KEYS = ['llm', 'llmModel'] as const;

/** `file` (relative to `cwd`), else `pmg.config.json` in `cwd` when present, else {}. */
export function readPmgConfig(cwd: string, file?: string, warn?: (message: string) => void): PmgConfig {
  const path = file ? resolve(cwd, file) : resolve(cwd, PMG_CONFIG_FILE);
  if (!file && !existsSync(path)) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    if (!missing) throw error;
    throw new PmgError('file-not-found', `config file ${path} does not exist; check its path`, { cause: error, details: { file: path } });
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
