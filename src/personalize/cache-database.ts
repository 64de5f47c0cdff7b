/**
 * The SQLite file behind pmg's caches (better-sqlite3): the keyword answers (keyword-cache.ts) and the soft
 * preference embeddings (soft/soft-cache.ts) live in the same file, `<PMG_CACHE_DIR or ~/.cache/pmg>/keywords.sqlite`
 * unless `--cache FILE` names another, each in its own table. Opening creates the folder, the file and the table,
 * waits for other writers (busy timeout) and uses write-ahead logging so several processes can share the file.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { PmgError } from '../errors/pmg-error.js';

/** `<PMG_CACHE_DIR or ~/.cache/pmg>/keywords.sqlite`; pass the environment explicitly. */
export function defaultCacheDatabasePath(env: NodeJS.ProcessEnv): string {
  const dir = env.PMG_CACHE_DIR && env.PMG_CACHE_DIR.trim() ? env.PMG_CACHE_DIR : join(homedir(), '.cache', 'pmg');
  return join(dir, 'keywords.sqlite');
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
      `cannot open the ${what} ${path} (${(error as Error).message}); delete the file, pass another --cache FILE, or use --no-cache`,
      {
        cause: error,
        details: { file: path },
      },
    );
  }
}
