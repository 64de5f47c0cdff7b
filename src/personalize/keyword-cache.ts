/**
 * A file cache of LLM answers to keyword prompts (SQLite through better-sqlite3, cache-database.ts), so a repeated
 * request costs no LLM call. The key is sha256 of (model id, template name and version, scene,
 * prompt text, generation settings); the value is the raw answer, parsed again on every hit
 * (so parser fixes apply to cached answers). Only answers that parsed are stored.
 */
import { createHash } from 'node:crypto';
import type { Environment } from '../settings/settings.js';
import { defaultCacheDatabasePath, openCacheDatabase } from './cache-database.js';

export interface CacheKeyParts {
  model: string;
  template: string;
  templateVersion: string;
  scene: string;
  prompt: string;
  /** Generation settings that change the answer (max new tokens, stop strings, JSON schema). */
  settings?: Record<string, unknown>;
}

export interface KeywordCache {
  readonly path: string;
  get(key: string): string | undefined;
  set(key: string, parts: CacheKeyParts, raw: string): void;
  close(): void;
}

/** The cache key of one prompt. */
export function keywordCacheKey(parts: CacheKeyParts): string {
  const canonical = JSON.stringify([parts.model, parts.template, parts.templateVersion, parts.scene, parts.prompt, parts.settings ?? {}]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** `<cache folder>/keywords.sqlite` of the settings of `env` (settings.ts; the model store's cache folder). */
export function defaultKeywordCachePath(env: Environment): string {
  return defaultCacheDatabasePath(env);
}

/** Open (creating if needed) the cache file at `path`. */
export function openKeywordCache(path: string): KeywordCache {
  const db = openCacheDatabase(
    path,
    `CREATE TABLE IF NOT EXISTS keyword_answers (
      key TEXT PRIMARY KEY,
      model TEXT NOT NULL,
      template TEXT NOT NULL,
      template_version TEXT NOT NULL,
      scene TEXT NOT NULL,
      prompt TEXT NOT NULL,
      raw TEXT NOT NULL,
      created_at INTEGER NOT NULL
    )`,
    'keyword cache',
  );
  const select = db.prepare<[string], { raw: string }>('SELECT raw FROM keyword_answers WHERE key = ?');
  const insert = db.prepare(
    `INSERT OR REPLACE INTO keyword_answers (key, model, template, template_version, scene, prompt, raw, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  return {
    path,
    get: (key) => select.get(key)?.raw,
    set: (key, parts, raw) => {
      insert.run(key, parts.model, parts.template, parts.templateVersion, parts.scene, parts.prompt, raw, Date.now());
    },
    close: () => db.close(),
  };
}

/** An in-memory cache with the same behaviour (tests, --no-cache runs that still want reuse within one run). */
export function memoryKeywordCache(): KeywordCache {
  const map = new Map<string, string>();
  return { path: ':memory:', get: (k) => map.get(k), set: (k, _p, raw) => void map.set(k, raw), close: () => map.clear() };
}
