/**
 * The one error type of pmg. Every failure a user can cause or fix carries a `code`;
 * the CLI maps codes to exit codes and the server maps them to HTTP statuses.
 */
export type PmgErrorCode =
  | 'invalid-argument' // a flag, field or value is wrong; the message names it
  | 'file-not-found' // an input file or folder does not exist
  | 'invalid-input' // an input file exists but its content is wrong (bad JSON, schema, CSV line)
  | 'model-not-found' // a model id or folder cannot be resolved (404, no such repo)
  | 'model-file-missing' // a model is there but lacks a file it needs
  | 'model-layout' // a folder is not in a layout pmg can load
  | 'offline' // the network is needed but offline mode is on
  | 'download-failed' // the hub or a mirror failed after retries
  | 'timeout' // a remote call took too long
  | 'provider-call-failed' // an LLM / remote provider call failed
  | 'invalid-response' // a provider answered with something unusable
  | 'no-output-generated' // a model produced nothing usable (keeps the raw text)
  | 'aborted' // the caller stopped the work
  | 'unsupported' // an option this build or machine cannot do (e.g. CUDA not installed)
  | 'file-system' // a file or folder cannot be written or read (a file where a folder is wanted, permissions)
  | 'not-found' // a job, image or record asked for by id does not exist (the server's 404)
  | 'queue-full' // the job queue is full; try again later (the server's 429, details.retryAfterSeconds)
  | 'unauthorized' // a server route needs the API key (the server's 401)
  | 'internal'; // a bug in pmg

export interface PmgErrorOptions {
  cause?: unknown;
  /** Machine-readable facts about the failure (file, field, url, status, raw text...). Never tensor data. */
  details?: Record<string, unknown>;
  /** For remote calls: whether trying again may succeed. */
  isRetryable?: boolean;
}

export class PmgError extends Error {
  readonly code: PmgErrorCode;
  readonly details: Record<string, unknown>;
  readonly isRetryable: boolean;

  constructor(code: PmgErrorCode, message: string, options: PmgErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PmgError';
    this.code = code;
    this.details = options.details ?? {};
    this.isRetryable = options.isRetryable ?? false;
  }
}

export function isPmgError(value: unknown): value is PmgError {
  return value instanceof PmgError;
}

/** Codes that describe a problem in what the user gave (no stack trace is shown for them). */
export function isUserError(error: PmgError): boolean {
  return error.code !== 'internal';
}
