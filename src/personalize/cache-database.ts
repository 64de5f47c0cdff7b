/**
 * The SQLite file behind pmg's caches (better-sqlite3): the keyword answers (keyword-cache.ts) and the soft
 * preference embeddings (soft/soft-cache.ts) live in the same file, `<cache folder>/keywords.sqlite` (the settings'
 * cache folder, the model store's too: PMG_CACHE_DIR, else $XDG_CACHE_HOME/pmg, else ~/.cache/pmg)
 * unless `--cache FILE` names another, each in its own table. Opening creates the folder, the file and the table,
 * waits for other writers (busy timeout) and uses write-ahead logging so several processes can share the file.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { PmgError } from '../errors/pmg-error.js';
import { cacheDatabaseFile, settingsFromEnvironment, type Environment } from '../settings/settings.js';

/** `<cache folder>/keywords.sqlite` of the settings of `env` (the same folder the model store uses). */
export function defaultCacheDatabasePath(env: Environment): string {
  return cacheDatabaseFile(settingsFromEnvironment(env));
}

/** Open (creating if needed) the cache file at `path` with `schema` applied; `what` names the cache in errors. */
export function openCacheDatabase(path: string, schema: string, what: string): Database.Database {
  try {
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.exec(schema);
    return db;
  } catch (error) {
    throw new PmgError(
      'invalid-input',
      `cannot open the ${what} ${path} (${(error as Error).message}); delete the file, choose another cache file, or turn the cache off`,
      {
        cause: error,
        details: { file: path },
      },
    );
  }
}
