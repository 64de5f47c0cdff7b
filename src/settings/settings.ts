/**
 * pmg's settings: the environment variables (README "Configuration") and the config file (`pmg.config.json`, or the
 * file the caller names; config-file.ts), read once into one typed object that is passed down. Nothing else reads
 * the environment: the model store, the keyword and soft caches, the LLM and captioner providers and the service
 * take a Settings (or the environment object they are given, through settingsFromEnvironment). `processSettings()`
 * is the one default that looks at `process.env`, for library callers that pass nothing.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { readPmgConfig, type PmgConfig } from './config-file.js';

/** An environment: `process.env`, or a plain object of the same shape (tests, the service). */
export type Environment = Readonly<Record<string, string | undefined>>;

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** The variables pmg reads, with what each sets (README "Configuration"). */
export const SETTINGS_VARIABLES = {
  PMG_CACHE_DIR: 'cache folder (hub downloads, keyword and soft caches); default $XDG_CACHE_HOME/pmg, else ~/.cache/pmg',
  XDG_CACHE_HOME: 'parent of the default cache folder',
  HF_ENDPOINT: 'hub or mirror base URL',
  HF_TOKEN: 'hub token for gated or private repos',
  PMG_OFFLINE: 'never use the network (any value but empty, 0 or false)',
  HF_HUB_OFFLINE: 'never use the network (any value but empty, 0 or false)',
  PMG_HUB_TIMEOUT: 'seconds to connect to the hub and to wait for its first byte',
  PMG_LLM_API_KEY: 'API key for openai: LLM servers',
  PMG_LLM_TIMEOUT: 'seconds an openai: LLM server may take per request',
  PMG_API_KEY: 'bearer token of pmg serve',
} as const;

export interface HubSettings {
  /** Base URL without a trailing slash. */
  endpoint: string;
  token?: string;
  offline: boolean;
  /** Connect and first-byte timeout (each), ms; undefined: the store's default. */
  timeoutMs?: number;
}

export interface LlmSettings {
  /** Default LLM spec (config file "llm"). */
  spec?: string;
  /** Default model name on openai: servers (config file "llmModel"). */
  model?: string;
  apiKey?: string;
  /** Per-request timeout of openai: servers, ms; undefined: the provider's default. */
  timeoutMs?: number;
}

export interface Settings {
  /** The one cache folder: the model store's downloads and the keyword/soft cache file live under it. */
  cacheDir: string;
  /** The home folder (`~` in model paths). */
  homeDir: string;
  hub: HubSettings;
  llm: LlmSettings;
  /** Bearer token the server requires (PMG_API_KEY). */
  apiKey?: string;
}

/** Settings from an environment and (optionally) an already-read config file. Bad values are one-line errors naming the variable. */
export function settingsFromEnvironment(env: Environment, config: PmgConfig = {}): Settings {
  const homeDir = nonEmpty(env.HOME) ?? homedir();
  const cacheDir = nonEmpty(env.PMG_CACHE_DIR) ?? join(nonEmpty(env.XDG_CACHE_HOME) ?? join(homeDir, '.cache'), 'pmg');
  const hubTimeoutMs = seconds(env, 'PMG_HUB_TIMEOUT', 'a positive number of seconds');
  const llmTimeoutMs = seconds(env, 'PMG_LLM_TIMEOUT', 'a number of seconds > 0');
  const token = nonEmpty(env.HF_TOKEN);
  const llmApiKey = nonEmpty(env.PMG_LLM_API_KEY);
  const apiKey = nonEmpty(env.PMG_API_KEY);
  return {
    cacheDir,
    homeDir,
    hub: {
      endpoint: (nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, ''),
      ...(token !== undefined ? { token } : {}),
      offline: isTruthy(env.PMG_OFFLINE) || isTruthy(env.HF_HUB_OFFLINE),
      ...(hubTimeoutMs !== undefined ? { timeoutMs: hubTimeoutMs } : {}),
    },
    llm: {
      ...(config.llm !== undefined ? { spec: config.llm } : {}),
      ...(config.llmModel !== undefined ? { model: config.llmModel } : {}),
      ...(llmApiKey !== undefined ? { apiKey: llmApiKey } : {}),
      ...(llmTimeoutMs !== undefined ? { timeoutMs: llmTimeoutMs } : {}),
    },
    ...(apiKey !== undefined ? { apiKey } : {}),
  };
}

/** The settings of this process's environment: the default for library callers that pass no settings. */
export function processSettings(): Settings {
  return settingsFromEnvironment(process.env);
}

/** The settings a call uses: the given ones, else those of the given environment, else the process's. */
export function settingsOf(options: { settings?: Settings; env?: Environment }): Settings {
  return options.settings ?? (options.env ? settingsFromEnvironment(options.env) : processSettings());
}

/** The cache file of the keyword answers and soft embeddings: `<cacheDir>/keywords.sqlite`. */
export function cacheDatabaseFile(settings: Pick<Settings, 'cacheDir'>): string {
  return join(settings.cacheDir, 'keywords.sqlite');
}

/** Set and not '', '0' or 'false' (any case). */
export function isTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value : undefined;
}

function seconds(env: Environment, name: string, what: string): number | undefined {
  const text = env[name];
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new PmgError('invalid-argument', `${name} must be ${what}, got '${text}'`, { details: { field: name } });
  return Math.round(value * 1000);
}

export interface LoadSettingsOptions {
  env: Environment;
  /** Folder the config file is looked for in (and a relative `configFile` resolved against). */
  cwd: string;
  /** A config file to read; without it, `pmg.config.json` in `cwd` when present. */
  configFile?: string;
  /** false: do not read any config file. Default true. */
  readConfig?: boolean;
  /** Receives the config file's warnings (unknown keys). */
  warn?: (message: string) => void;
}

/** The environment and the config file, read once. */
export function loadSettings(options: LoadSettingsOptions): Settings {
  const config = options.readConfig === false ? {} : readPmgConfig(options.cwd, options.configFile, options.warn);
  return settingsFromEnvironment(options.env, config);
}
