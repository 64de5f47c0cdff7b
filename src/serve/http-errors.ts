/**
 * The one table from PmgError codes to HTTP statuses, and the JSON error body every route answers with:
 * `{ "error": { "code", "message", "field"? } }`. A user error keeps its one-line message; anything else is a 500
 * whose body says only that the server failed (the stack goes to the server's log, never to the client).
 */
import type { Context } from 'hono';
import { isPmgError, PmgError, type PmgErrorCode } from '../errors/pmg-error.js';

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

const statusOf: Partial<Record<PmgErrorCode, number>> = {
  'invalid-input': 400,
  'invalid-argument': 400,
  'not-found': 404,
  unauthorized: 401,
  'queue-full': 429,
};

/** Status, body and extra headers (Retry-After for a full queue) for any thrown value. */
export function errorResponse(error: unknown, log?: (message: string) => void): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (isPmgError(error) && statusOf[error.code] !== undefined) {
    const field = typeof error.details.field === 'string' ? error.details.field : undefined;
    const headers: Record<string, string> = {};
    if (error.code === 'queue-full') headers['Retry-After'] = String(retryAfterSeconds(error));
    return { status: statusOf[error.code]!, body: { error: { code: error.code, message: error.message, ...(field ? { field } : {}) } }, headers };
  }
  log?.(isPmgError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? (error.stack ?? error.message) : String(error));
  // A PmgError's message is one line written for users (a model that failed to load, a file it lacks): keep it.
  const body = isPmgError(error)
    ? { error: { code: error.code, message: error.message } }
    : { error: { code: 'internal', message: 'the server failed on this request; see its log' } };
  return { status: 500, body, headers: {} };
}

/** The error as a Hono JSON response (status, body and headers from errorResponse): every app's onError. */
export function jsonError(c: Context, error: unknown, log?: (message: string) => void): Response {
  const { status, body, headers } = errorResponse(error, log);
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  return c.json(body, status as 500);
}

function retryAfterSeconds(error: PmgError): number {
  const seconds = Number(error.details.retryAfterSeconds);
  return Number.isFinite(seconds) && seconds >= 1 ? Math.ceil(seconds) : 1;
}

/** The body of a request over its size limit (413). */
export function tooLargeBody(limit: number): ErrorBody {
  return { error: { code: 'too-large', message: `the request body is over the limit of ${limit} bytes` } };
}

/** A 404 body for a job, image or route that does not exist. */
export function notFound(what: string): PmgError {
  return new PmgError('not-found', `${what} does not exist`);
}
