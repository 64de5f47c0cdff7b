/**
 * Request bodies: the size limit (413 with the JSON error body), JSON only where JSON is expected, and the hook
 * that turns a Standard-Schema validator's first issue into the API's 400 error body with the field path.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { PmgError } from '../errors/pmg-error.js';
import { errorResponse, tooLargeBody } from './http-errors.js';
import { issueError } from './job-schema.js';

/** At most `maxBytes` of body, else 413 `{ error: { code: 'too-large' } }`. */
export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({ maxSize: maxBytes, onError: (c) => c.json(tooLargeBody(maxBytes), 413) });
}

/** A body that is not declared as JSON is refused (hono's json validator would read it as `{}`). */
export const requireJson: MiddlewareHandler = async (c, next) => {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!/^application\/([\w.-]+\+)?json$/.test(type))
    throw new PmgError('invalid-input', `send the body as JSON with "Content-Type: application/json" (got '${type || 'none'}')`);
  await next();
};

/** The validators' hook: a failed validation answers the API's 400 error body. */
export function validationHook(result: { success: boolean; error?: readonly StandardSchemaV1.Issue[] }, c: Context): Response | undefined {
  if (result.success) return undefined;
  const { status, body } = errorResponse(issueError(result.error ?? []));
  return c.json(body, status as 400);
}

/** The JSON body of a request (after `requireJson`), or a 400 naming the parse error. */
export async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch (error) {
    throw new PmgError('invalid-input', `the body is not valid JSON: ${(error as Error).message}`);
  }
}
