/**
 * The state of one eval run in `<out>/run.sqlite` (better-sqlite3):
 * - `meta`: the run's config (stored on the first start, compared on resume) and the skipped-sample counts;
 * - `samples`: each sample evaluated, with its position, reference images and target text;
 * - `keywords`: the LLM's keywords per sample (asked once, shared by every method and α);
 * - `results`: one row per finished (sample, method, α) with the output image (a path under `<out>`),
 *   the chosen candidate, its scores, the metric values and the stage timings.
 * A method's rows for a sample are written in one transaction as soon as they are finished, so a run
 * killed at any moment keeps everything finished and nothing half-done.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PmgError } from '../errors/pmg-error.js';
import type { KeywordResult } from '../personalize/extract-keywords.js';
import type { Scene } from '../spec/behaviour.js';
import { canonicalJson, configDifferences, type EvalConfig, type EvalMethod } from './run-config.js';

export const RUN_DB = 'run.sqlite';
const SCHEMA_VERSION = '1';

export interface StoredSample {
  id: string;
  user: string;
  scene: Scene;
  /** Order of the sample in the dataset protocol. */
  position: number;
  title?: string;
  historyImages: string[];
  targetImage?: string;
  /** The text CLIP-T compares the output with (see eval-metrics.ts `targetText`). */
  targetText: string;
}

/** A sample's keywords as extractKeywords returned them (the scene is the sample's). */
export type StoredKeywords = Omit<KeywordResult, 'scene'>;

export interface ResultRow {
  sampleId: string;
  method: EvalMethod;
  /** α of method 'pmg'; null for the methods without a search. */
  alpha: number | null;
  /** Output image, relative to the run folder, '/'-separated. */
  image: string;
  candidate: number;
  weights: { preference: number; target: number };
  prompt: string;
  dp: number;
  dt: number;
  z: number | null;
  /** Metric values by column name, e.g. 'personalization_lpips'. */
  metrics: Record<string, number>;
  /** Milliseconds per stage of the work that made this row (shared work counted on the first row). */
  timings: Record<string, number>;
}

/** A (sample, method) unit that failed on every queue attempt, with the last reason. */
export interface UnitFailure {
  sampleId: string;
  method: string;
  reason: string;
  attempts: number;
}

export function resultKey(sampleId: string, method: string, alpha: number | null): string {
  return `${sampleId}\u0000${method}\u0000${alpha === null ? '' : String(alpha)}`;
}

export class RunStore {
  readonly path: string;
  readonly config: EvalConfig;
  private readonly db: Database.Database;

  private constructor(path: string, db: Database.Database, config: EvalConfig) {
    this.path = path;
    this.db = db;
    this.config = config;
  }

  /**
   * Open the run in `outDir`, creating it with `config` on the first start. On resume the stored config
   * must equal `config`; otherwise this throws an error naming each field that differs.
   */
  static open(outDir: string, config: EvalConfig): RunStore {
    mkdirSync(outDir, { recursive: true });
    const path = join(outDir, RUN_DB);
    const db = openDb(path);
    const stored = readConfig(db, path);
    if (stored) {
      // A larger --limit extends a run (the protocol's order is fixed); anything else must match.
      const extends_ = config.limit === undefined || (stored.limit !== undefined && config.limit >= stored.limit);
      const diff = configDifferences(extends_ ? { ...stored, limit: config.limit } : stored, config);
      if (diff.length) {
        db.close();
        throw new PmgError(
          'invalid-argument',
          `out: ${outDir} holds a run with other settings: ${diff.join('; ')}; use another folder, or the same settings to resume`,
          {
            details: { out: outDir, differences: diff, field: 'out' },
          },
        );
      }
      if (stored.limit !== config.limit) db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(canonicalJson(config), 'config');
    } else {
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('config', canonicalJson(config));
    }
    return new RunStore(path, db, config);
  }

  /** Open an existing run (for reports and human sheets). */
  static openExisting(outDir: string): RunStore {
    const path = join(outDir, RUN_DB);
    if (!existsSync(path))
      throw new PmgError('file-not-found', `${outDir} has no eval run (${RUN_DB} is missing); run 'pmg eval ... --out ${outDir}' first`, {
        details: { out: outDir },
      });
    const db = openDb(path);
    const config = readConfig(db, path);
    if (!config) {
      db.close();
      throw new PmgError('invalid-input', `${path} has no run config; delete it and start the run again`);
    }
    return new RunStore(path, db, config);
  }

  putSample(sample: StoredSample): void {
    this.db.prepare('INSERT OR REPLACE INTO samples (id, position, json) VALUES (?, ?, ?)').run(sample.id, sample.position, JSON.stringify(sample));
  }

  samples(): StoredSample[] {
    return this.db
      .prepare<[], { json: string }>('SELECT json FROM samples ORDER BY position, id')
      .all()
      .map((r) => JSON.parse(r.json) as StoredSample);
  }

  keywords(sampleId: string): StoredKeywords | undefined {
    const row = this.db.prepare<[string], { json: string }>('SELECT json FROM keywords WHERE sample_id = ?').get(sampleId);
    return row ? (JSON.parse(row.json) as StoredKeywords) : undefined;
  }

  putKeywords(sampleId: string, keywords: StoredKeywords): void {
    this.db.prepare('INSERT OR REPLACE INTO keywords (sample_id, json) VALUES (?, ?)').run(sampleId, JSON.stringify(keywords));
  }

  /** Keys (`resultKey`) of every finished row. */
  finished(): Set<string> {
    const rows = this.db.prepare<[], { sample_id: string; method: string; alpha_key: string }>('SELECT sample_id, method, alpha_key FROM results').all();
    return new Set(rows.map((r) => `${r.sample_id}\u0000${r.method}\u0000${r.alpha_key}`));
  }

  /** Store rows in one transaction (all or nothing); a failure recorded earlier for their (sample, method) is cleared. */
  putResults(rows: readonly ResultRow[]): void {
    const insert = this.db.prepare('INSERT OR REPLACE INTO results (sample_id, method, alpha_key, json, finished_at) VALUES (?, ?, ?, ?, ?)');
    const clear = this.db.prepare('DELETE FROM failures WHERE sample_id = ? AND method = ?');
    const now = Date.now();
    this.db.transaction(() => {
      for (const row of rows) {
        insert.run(row.sampleId, row.method, row.alpha === null ? '' : String(row.alpha), JSON.stringify(row), now);
        clear.run(row.sampleId, row.method);
      }
    })();
  }

  /** Record that a (sample, method) unit failed on every queue attempt (a resumed run tries it again). */
  putFailure(failure: UnitFailure): void {
    this.db
      .prepare('INSERT OR REPLACE INTO failures (sample_id, method, reason, attempts) VALUES (?, ?, ?, ?)')
      .run(failure.sampleId, failure.method, failure.reason, failure.attempts);
  }

  /** Units that failed and have not finished since, in sample then method order. */
  failures(): UnitFailure[] {
    return this.db
      .prepare<[], { sample_id: string; method: string; reason: string; attempts: number }>('SELECT * FROM failures ORDER BY sample_id, method')
      .all()
      .map((r) => ({ sampleId: r.sample_id, method: r.method, reason: r.reason, attempts: r.attempts }));
  }

  /** Every row, ordered by sample position, then the config's method order, then α ascending. */
  results(): ResultRow[] {
    const position = new Map(this.samples().map((s) => [s.id, s.position]));
    const methodOrder = (m: string) => this.config.methods.indexOf(m as EvalMethod);
    const rows = this.db
      .prepare<[], { json: string }>('SELECT json FROM results')
      .all()
      .map((r) => JSON.parse(r.json) as ResultRow);
    return rows.sort(
      (a, b) =>
        (position.get(a.sampleId) ?? 0) - (position.get(b.sampleId) ?? 0) ||
        (a.sampleId < b.sampleId ? -1 : a.sampleId > b.sampleId ? 1 : 0) ||
        methodOrder(a.method) - methodOrder(b.method) ||
        (a.alpha ?? -1) - (b.alpha ?? -1),
    );
  }

  setSkipped(counts: Record<string, number>): void {
    this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run('skipped', canonicalJson(counts));
  }

  skipped(): Record<string, number> {
    const row = this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get('skipped');
    return row ? (JSON.parse(row.value) as Record<string, number>) : {};
  }

  /** The model fingerprint the run's generations must come from (`pmg eval --queue`), once pinned. */
  pinnedFingerprint(): string | undefined {
    return this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get('fingerprint')?.value;
  }

  pinFingerprint(fingerprint: string): void {
    this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run('fingerprint', fingerprint);
  }

  close(): void {
    this.db.close();
  }
}

function openDb(path: string): Database.Database {
  try {
    const db = new Database(path);
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS samples (id TEXT PRIMARY KEY, position INTEGER NOT NULL, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS keywords (sample_id TEXT PRIMARY KEY, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS results (sample_id TEXT NOT NULL, method TEXT NOT NULL, alpha_key TEXT NOT NULL, json TEXT NOT NULL,
        finished_at INTEGER NOT NULL, PRIMARY KEY (sample_id, method, alpha_key));
      CREATE TABLE IF NOT EXISTS failures (sample_id TEXT NOT NULL, method TEXT NOT NULL, reason TEXT NOT NULL, attempts INTEGER NOT NULL,
        PRIMARY KEY (sample_id, method));`);
    const version = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get('schema');
    if (!version) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION);
    else if (version.value !== SCHEMA_VERSION) {
      db.close();
      throw new Error(`schema version ${version.value}, this pmg writes ${SCHEMA_VERSION}`);
    }
    return db;
  } catch (error) {
    throw new PmgError(
      'invalid-input',
      `cannot open the eval run database ${path} (${(error as Error).message.split('\n')[0]}); use another output folder or delete the file`,
      {
        cause: error,
        details: { file: path },
      },
    );
  }
}

function readConfig(db: Database.Database, path: string): EvalConfig | undefined {
  const row = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get('config');
  if (!row) return undefined;
  try {
    return JSON.parse(row.value) as EvalConfig;
  } catch (error) {
    throw new PmgError('invalid-input', `${path}: the stored run config is not valid JSON; delete the file and start the run again`, { cause: error });
  }
}
