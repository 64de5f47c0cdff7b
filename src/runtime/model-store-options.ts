/**
 * The model store's options (cache folder, hub endpoint, token, offline mode, timeouts, retries, folders) and how they
 * are made from pmg's settings.
 */
import { DEFAULT_HUB_ENDPOINT, settingsFromEnvironment, type Environment, type Settings } from '../settings/settings.js';
import type { ProgressSink } from '../core/progress.js';

export const defaultEndpoint = DEFAULT_HUB_ENDPOINT;

export interface ModelStoreOptions {
  cacheDir: string;
  /** Hub or mirror base URL (default https://huggingface.co). */
  endpoint: string;
  token?: string;
  /** Never use the network; missing files are an `offline` error. */
  offline: boolean;
  progress?: ProgressSink;
  /** Idle timeout while a body streams, in ms (default 30000). */
  timeoutMs?: number;
  /** Timeout to connect, in ms (default 15000; PMG_HUB_TIMEOUT in seconds). */
  connectTimeoutMs?: number;
  /** Timeout from connecting to the answer's first byte, in ms (default 15000; PMG_HUB_TIMEOUT in seconds). */
  responseTimeoutMs?: number;
  /** Extra attempts after a connection error, timeout, 429 or 5xx (default 3). */
  retries?: number;
  /** Extra attempts after a connect or first-byte timeout (default 1: a hub that never answers fails in about 2 × 15 s). */
  timeoutRetries?: number;
  /** First backoff delay in ms, doubled each retry (default 1000). */
  retryDelayMs?: number;
  /** Folder that relative local paths are read from (default: the process's cwd). */
  cwd?: string;
  /** The folder `~` in a model path stands for (default: the user's home folder). */
  homeDir?: string;
}

/** The store's options from the settings (cache folder, hub endpoint, token, offline, timeouts, home folder). */
export function modelStoreOptions(settings: Settings, overrides: Partial<ModelStoreOptions> = {}): ModelStoreOptions {
  const waitMs = settings.hub.timeoutMs;
  const waits = waitMs === undefined ? {} : { connectTimeoutMs: waitMs, responseTimeoutMs: waitMs };
  return {
    cacheDir: settings.cacheDir,
    endpoint: settings.hub.endpoint,
    token: settings.hub.token,
    offline: settings.hub.offline,
    homeDir: settings.homeDir,
    ...waits,
    ...withoutUndefined(overrides),
  };
}

/** modelStoreOptions of the settings of `env` (PMG_CACHE_DIR, XDG_CACHE_HOME, HF_ENDPOINT, HF_TOKEN, PMG_OFFLINE, ...). */
export function modelStoreOptionsFromEnv(env: Environment, overrides: Partial<ModelStoreOptions> = {}): ModelStoreOptions {
  return modelStoreOptions(settingsFromEnvironment(env), overrides);
}

/** `value` without its undefined fields (so that they do not replace defaults when spread). */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
