/**
 * The jobs and their events in SQLite (`<dataDir>/pmg.sqlite`, better-sqlite3, write-ahead logging): one row per
 * job (its checked job JSON, state, times, attempts, progress, error, result and image names) and one row per event
 * (job id, sequence number 1, 2, 3 …, type, time, data). Every write is one statement or one transaction, so a
 * process killed at any moment leaves the file consistent; the engine writes 'done' only after the job's files are
 * in place (job-files.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { PmgError } from '../errors/pmg-error.js';
import type { JobError, JobEvent, JobEventType, JobKind, JobProgress, JobRecord, JobState } from './job-types.js';

/** A job as stored (the record without its queue position, which the runner knows). */
export type StoredJob = Omit<JobRecord, 'queuePosition'>;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** 'j_' + 20 lowercase base32 characters from the crypto generator (100 bits). */
export function newJobId(): string {
  const bytes = randomBytes(20);
  let id = 'j_';
  for (const byte of bytes) id += BASE32[byte & 31];
  return id;
}

export const JOB_ID = /^j_[a-z2-7]{20}$/;

interface JobRow {
  id: string;
  kind: string;
  state: string;
  job: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  attempts: number;
  progress: string;
  error: string | null;
  result: string | null;
  images: string;
}

interface EventRow {
  seq: number;
  type: string;
  at: string;
  data: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  job TEXT NOT NULL,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  progress TEXT NOT NULL,
  error TEXT,
  result TEXT,
  images TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
CREATE TABLE IF NOT EXISTS events (
  job_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  at TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
);
`;

/** The fields `update` may change. */
export type JobPatch = Partial<Pick<StoredJob, 'state' | 'startedAt' | 'finishedAt' | 'attempts' | 'progress' | 'error' | 'result' | 'images'>>;

const UPDATE_COLUMNS: Record<keyof JobPatch, string> = {
  state: 'state',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  attempts: 'attempts',
  progress: 'progress',
  error: 'error',
  result: 'result',
  images: 'images',
};
const JSON_COLUMNS = new Set<keyof JobPatch>(['progress', 'error', 'result', 'images']);

export class JobStore {
  private readonly db: Database.Database;
  private readonly statements;
  /** UPDATE statements by the columns they set (a job sets the same few again and again). */
  private readonly updates = new Map<string, Database.Statement>();

  constructor(readonly path: string) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('journal_mode = WAL');
      // In WAL mode NORMAL keeps every commit across a killed process (only a power loss may drop the last ones).
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
    } catch (error) {
      throw new PmgError('file-system', `cannot open the job database ${path} (${(error as Error).message}); check the --data folder`, {
        cause: error,
        details: { file: path },
      });
    }
    const db = this.db;
    this.statements = {
      insert: db.prepare(
        `INSERT INTO jobs (id, kind, state, job, created_at, attempts, progress, images) VALUES (@id, @kind, @state, @job, @created_at, @attempts, @progress, @images)`,
      ),
      get: db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE id = ?'),
      newest: db.prepare<[number], JobRow>('SELECT * FROM jobs ORDER BY rowid DESC LIMIT ?'),
      before: db.prepare<[string, number], JobRow>('SELECT * FROM jobs WHERE rowid < (SELECT rowid FROM jobs WHERE id = ?) ORDER BY rowid DESC LIMIT ?'),
      inState: db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE state = ? ORDER BY rowid ASC'),
      lastSeq: db.prepare<[string], { seq: number | null }>('SELECT MAX(seq) AS seq FROM events WHERE job_id = ?'),
      addEvent: db.prepare('INSERT INTO events (job_id, seq, type, at, data) VALUES (?, ?, ?, ?, ?)'),
      events: db.prepare<[string, number], EventRow>('SELECT seq, type, at, data FROM events WHERE job_id = ? AND seq > ? ORDER BY seq ASC'),
      durations: db.prepare<[number], { ms: number }>(
        `SELECT (julianday(finished_at) - julianday(started_at)) * 86400000 AS ms FROM jobs
         WHERE state = 'done' AND started_at IS NOT NULL AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?`,
      ),
    };
  }

  insert(job: StoredJob): void {
    this.statements.insert.run({
      id: job.id,
      kind: job.kind,
      state: job.state,
      job: JSON.stringify(job.job),
      created_at: job.createdAt,
      attempts: job.attempts,
      progress: JSON.stringify(job.progress),
      images: JSON.stringify(job.images),
    });
  }

  get(id: string): StoredJob | undefined {
    const row = this.statements.get.get(id);
    return row ? fromRow(row) : undefined;
  }

  /** Newest first; `before`: only jobs created before that one. */
  list(limit: number, before?: string): StoredJob[] {
    const rows = before === undefined ? this.statements.newest.all(limit) : this.statements.before.all(before, limit);
    return rows.map(fromRow);
  }

  /** Jobs in `state`, oldest first. */
  inState(state: JobState): StoredJob[] {
    return this.statements.inState.all(state).map(fromRow);
  }

  update(id: string, patch: JobPatch): void {
    const keys = Object.keys(patch) as (keyof JobPatch)[];
    if (keys.length === 0) return;
    const values = keys.map((k) => {
      const v = patch[k];
      return v === undefined ? null : JSON_COLUMNS.has(k) ? JSON.stringify(v) : v;
    });
    const signature = keys.join(',');
    let statement = this.updates.get(signature);
    if (!statement) {
      statement = this.db.prepare(`UPDATE jobs SET ${keys.map((k) => `${UPDATE_COLUMNS[k]} = ?`).join(', ')} WHERE id = ?`);
      this.updates.set(signature, statement);
    }
    statement.run(...values, id);
  }

  /** Several writes as one (all or none on disk). */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  /** Append the job's next event (ids 1, 2, 3 …) and return it. */
  appendEvent(jobId: string, type: JobEventType, data: Record<string, unknown>): JobEvent {
    return this.transaction(() => {
      const id = (this.statements.lastSeq.get(jobId)?.seq ?? 0) + 1;
      const at = new Date().toISOString();
      this.statements.addEvent.run(jobId, id, type, at, JSON.stringify(data));
      return { id, type, at, data };
    });
  }

  events(jobId: string, afterId = 0): JobEvent[] {
    return this.statements.events
      .all(jobId, afterId)
      .map((r) => ({ id: r.seq, type: r.type as JobEventType, at: r.at, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  /** Run times (ms) of the latest finished jobs, newest first. */
  recentDurations(limit: number): number[] {
    return this.statements.durations.all(limit).map((r) => r.ms);
  }

  close(): void {
    this.db.close();
  }
}

function fromRow(row: JobRow): StoredJob {
  return {
    id: row.id,
    kind: row.kind as JobKind,
    state: row.state as JobState,
    job: JSON.parse(row.job) as StoredJob['job'],
    createdAt: row.created_at,
    ...(row.started_at ? { startedAt: row.started_at } : {}),
    ...(row.finished_at ? { finishedAt: row.finished_at } : {}),
    attempts: row.attempts,
    progress: JSON.parse(row.progress) as JobProgress,
    ...(row.error ? { error: JSON.parse(row.error) as JobError } : {}),
    ...(row.result ? { result: JSON.parse(row.result) as unknown } : {}),
    images: JSON.parse(row.images) as string[],
  };
}
