/**
 * The job engine's contract (docs/serve.md): what `openJobService` returns and what the HTTP layer (src/serve/) and
 * the web app read. Jobs are plain data (src/jobs/generation-job.ts, txt2img-job); records, events and errors are
 * JSON as stored in SQLite and sent over HTTP.
 */
import type { GenerationJob } from '../jobs/generation-job.js';
import type { RedisQueueTarget } from '../queue/queue-url.js';
import type { Environment, Settings } from '../settings/settings.js';

export type JobKind = 'generation' | 'txt2img';
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export type JobEventType = 'queued' | 'started' | 'keywords' | 'soft' | 'step' | 'candidate' | 'done' | 'error' | 'cancelled';

/** One event of a job: `id` counts 1, 2, 3 … per job (the SSE id that `Last-Event-ID` resumes after). */
export interface JobEvent {
  id: number;
  type: JobEventType;
  /** ISO time. */
  at: string;
  data: Record<string, unknown>;
}

export interface JobProgress {
  stage: 'queued' | 'keywords' | 'soft' | 'generate' | 'score' | 'decode' | 'done';
  step?: number;
  total?: number;
}

/** Why a job failed: a PmgError code (or 'interrupted', 'timeout', 'internal'), its one-line message, the field path. */
export interface JobError {
  code: string;
  message: string;
  field?: string;
}

/** A plain text-to-image job (the A1111-compatible route). */
export interface Txt2ImgJob {
  prompt: string;
  negative?: string;
  steps?: number;
  guidance?: number;
  width?: number;
  height?: number;
  seed?: number;
  count?: number;
  scheduler?: string;
}

export interface JobRecord {
  /** 'j_' + 20 lowercase base32 characters. */
  id: string;
  kind: JobKind;
  state: JobState;
  /** As submitted, checked and normalized. */
  job: GenerationJob | Txt2ImgJob;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  attempts: number;
  progress: JobProgress;
  /** 0 = next, while queued. */
  queuePosition?: number;
  error?: JobError;
  /** generation: the result.json object; txt2img: { images, seeds, settings }. */
  result?: unknown;
  /** Image names available now, without '.png' ('candidate-0', 'best', 'preview-0', 'image-0'). */
  images: string[];
}

/** What GET /v1/models reports. */
export interface ServiceModels {
  /** The --models spec. */
  models: string;
  ids: { llm: string; clip: string; sd: string; decoder?: string };
  loaded: boolean;
  soft: { name: string; P: number; N: number }[];
  methods: string[];
  scenes: string[];
  captioner: boolean;
  /** `pmg serve --queue`: the models live on the queue's workers; the Redis URL (no password) and the workers connected now. */
  queue?: { url: string; workers: number };
}

export interface JobService {
  /** Validates (PmgError 'invalid-input' with details.field); a full queue throws PmgError 'queue-full' with details.retryAfterSeconds. */
  submit(kind: JobKind, job: unknown): JobRecord;
  get(id: string): JobRecord | undefined;
  /** Newest first. */
  list(options?: { limit?: number; before?: string }): JobRecord[];
  /** Queued: cancelled now; running: aborted at the next step, then 'cancelled'; ended: unchanged. */
  cancel(id: string): JobRecord | undefined;
  /** Stored events with id > afterId. */
  events(id: string, afterId?: number): JobEvent[];
  /**
   * Live events; returns the unsubscribe function. While a job has a subscriber its steps' x0 previews are decoded and
   * written (`preview-<k>`); with none they are skipped and its 'step' events carry `previews: []`.
   */
  subscribe(id: string, listener: (event: JobEvent) => void): () => void;
  /** Resolves when the job ends (waiting is not watching: it makes no previews). */
  wait(id: string, options?: { signal?: AbortSignal }): Promise<JobRecord>;
  /** Absolute path of `<job dir>/<name>.png`, only for names the record lists (and matching /^[a-z0-9-]+$/). */
  imageFile(id: string, name: string): string | undefined;
  /** Absolute path of result.json once the job is done. */
  resultFile(id: string): string | undefined;
  /** `{ scene, history, target }` → the keyword result JSON (the LLM once, cached). */
  keywords(input: unknown): Promise<unknown>;
  models(): ServiceModels;
  ready(): boolean;
  /** With a Redis queue also the workers connected now. */
  stats(): { queued: number; running: number; capacity: number; workers?: number };
  /** Stop accepting, abort running jobs (left 'running', so the next open runs them again), release models, close SQLite. */
  close(): Promise<void>;
}

export interface JobServiceOptions {
  /** `<dataDir>/pmg.sqlite`, `<dataDir>/jobs/<id>/`, `<dataDir>/uploads/`. */
  dataDir: string;
  /** A models folder or preset (--models). */
  models: string;
  /** Soft module name → folder; jobs name a module, never a path. */
  softModules?: Record<string, string>;
  /** Queued jobs beyond this → 'queue-full' (default 16). */
  queueSize?: number;
  /** Jobs running at once per model set (default 1). */
  concurrency?: number;
  /** Per-job time limit (default 15 minutes); then the job fails with code 'timeout'. */
  jobTimeoutMs?: number;
  /** A job interrupted by a restart runs again until this many attempts (default 2), then fails with code 'interrupted'. */
  maxAttempts?: number;
  /** Cache folder, hub, LLM settings (settings/settings.ts); default: those of `env`, else the process's. */
  settings?: Settings;
  /** Environment the settings are read from when none are given. */
  env?: Environment;
  offline?: boolean;
  warn?: (message: string) => void;
  /**
   * Run the generations on this Redis queue's `pmg worker` processes (queued-execution.ts) instead of in process:
   * no models load here; soft modules, history images and POST /v1/keywords are refused.
   */
  queue?: RedisQueueTarget;
}
