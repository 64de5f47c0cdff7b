/**
 * A cache of soft preference embeddings: one user's N soft tokens are computed once (soft-embeddings.ts) and reused
 * by every candidate, every method and every later run. It lives in the keyword cache's SQLite file
 * (personalize/cache-database.ts; `--cache FILE`, `--no-cache`), table `soft_embeddings`. The key is sha256 of the
 * LLM body's fingerprint, the soft module's fingerprint, the soft prompt template's name and version, and the
 * rendered soft prompt (the verbalized history in the template); the value is the N × condWidth float32 tokens.
 */
import { createHash } from 'node:crypto';
import { openCacheDatabase } from '../personalize/cache-database.js';

export interface SoftCacheKeyParts {
  llmFingerprint: string;
  moduleFingerprint: string;
  template: string;
  templateVersion: string;
  /** The soft prompt as rendered (template + verbalized history). */
  prompt: string;
}

export interface SoftCache {
  readonly path: string;
  /** The tokens stored under `key` when they have `count` values (else undefined). */
  get(key: string, count: number): Float32Array | undefined;
  set(key: string, parts: SoftCacheKeyParts, tokens: Float32Array, shape: [number, number]): void;
  close(): void;
}

export function softCacheKey(parts: SoftCacheKeyParts): string {
  const canonical = JSON.stringify(['soft', parts.llmFingerprint, parts.moduleFingerprint, parts.template, parts.templateVersion, parts.prompt]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** Open (creating if needed) the soft table of the cache file at `path`. */
export function openSoftCache(path: string): SoftCache {
  const db = openCacheDatabase(
    path,
    `CREATE TABLE IF NOT EXISTS soft_embeddings (
      key TEXT PRIMARY KEY,
      llm TEXT NOT NULL,
      module TEXT NOT NULL,
      template TEXT NOT NULL,
      template_version TEXT NOT NULL,
      prompt TEXT NOT NULL,
      tokens INTEGER NOT NULL,
      width INTEGER NOT NULL,
      value BLOB NOT NULL,
      created_at INTEGER NOT NULL
    )`,
    'soft embedding cache',
  );
  const select = db.prepare<[string], { value: Buffer }>('SELECT value FROM soft_embeddings WHERE key = ?');
  const insert = db.prepare(
    `INSERT OR REPLACE INTO soft_embeddings (key, llm, module, template, template_version, prompt, tokens, width, value, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  return {
    path,
    get: (key, count) => {
      const row = select.get(key);
      if (!row || row.value.byteLength !== count * 4) return undefined;
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = row.value.readFloatLE(i * 4);
      return out;
    },
    set: (key, parts, tokens, shape) => {
      const value = Buffer.alloc(tokens.length * 4);
      tokens.forEach((v, i) => value.writeFloatLE(v, i * 4));
      insert.run(
        key,
        parts.llmFingerprint,
        parts.moduleFingerprint,
        parts.template,
        parts.templateVersion,
        parts.prompt,
        shape[0],
        shape[1],
        value,
        Date.now(),
      );
    },
    close: () => db.close(),
  };
}

/** The same behaviour in memory (tests; runs without a cache file that still compute each user once). */
export function memorySoftCache(): SoftCache {
  const map = new Map<string, Float32Array>();
  return {
    path: ':memory:',
    get: (key, count) => {
      const value = map.get(key);
      return value && value.length === count ? value.slice() : undefined;
    },
    set: (key, _parts, tokens) => void map.set(key, tokens.slice()),
    close: () => map.clear(),
  };
}
