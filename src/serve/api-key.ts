/**
 * The API key of `pmg serve` (`PMG_API_KEY`): every /v1/* and /sdapi/* request needs `Authorization: Bearer <key>`.
 * The comparison is constant-time over sha256 digests (equal lengths whatever the client sends). The events route
 * alone also takes `?access_token=<key>`, because a browser's EventSource cannot set headers.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import { PmgError } from '../errors/pmg-error.js';

/** True when `given` is the key, in time that does not depend on where they differ. */
export function keyMatches(key: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(key), digest(given));
}

/** Paths whose query may carry the key (`?access_token=`): the events stream only. */
const QUERY_TOKEN_PATH = /^\/v1\/generations\/[^/]+\/events$/;

/** Middleware: throws PmgError 'unauthorized' (401) unless the request carries the key. */
export function requireApiKey(key: string): MiddlewareHandler {
  return async (c, next) => {
    const header = c.req.header('authorization');
    const bearer = header && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '') : undefined;
    const query = QUERY_TOKEN_PATH.test(c.req.path) ? c.req.query('access_token') : undefined;
    if (!keyMatches(key, bearer ?? query)) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new PmgError('unauthorized', 'this server needs its API key: send "Authorization: Bearer <PMG_API_KEY>"');
    }
    await next();
  };
}

/** Loopback names and addresses: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}

/** Refuses (PmgError invalid-argument, one line) to bind a non-loopback host without an API key. */
export function checkBind(host: string, apiKey: string | undefined): void {
  if (!isLoopbackHost(host) && !apiKey)
    throw new PmgError(
      'invalid-argument',
      `--host ${host} would expose the server beyond this machine without a key; set PMG_API_KEY (clients send "Authorization: Bearer <key>") or bind 127.0.0.1`,
      { details: { field: 'host' } },
    );
}
