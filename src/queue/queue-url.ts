/**
 * The `--queue` value: 'in-process' (the default, today's engine) or `redis://[user][:password@]host:port[/db]` (BullMQ).
 * A URL without a password takes the one of `PMG_REDIS_URL` when that variable is set, so the secret stays off the
 * command line; `--queue` may also be left at 'env' to take the whole URL from `PMG_REDIS_URL`.
 */
import { PmgError } from '../errors/pmg-error.js';

export interface RedisQueueTarget {
  kind: 'redis';
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
}

export type QueueTarget = { kind: 'in-process' } | RedisQueueTarget;

/** `flag` names the option in errors (e.g. '--queue'). */
export function parseQueueUrl(text: string | undefined, env: NodeJS.ProcessEnv, flag = '--queue'): QueueTarget {
  const value = (text ?? 'in-process').trim();
  if (value === 'in-process') return { kind: 'in-process' };
  if (value === 'env') {
    const fromEnv = env.PMG_REDIS_URL?.trim();
    if (!fromEnv) throw new PmgError('invalid-argument', `${flag} env: PMG_REDIS_URL is not set; set it to redis://host:port[/db] or give the URL`);
    return parseRedis(fromEnv, 'PMG_REDIS_URL', undefined);
  }
  return parseRedis(value, flag, env.PMG_REDIS_URL?.trim() || undefined);
}

function parseRedis(value: string, flag: string, fallback: string | undefined): RedisQueueTarget {
  const shown = value.replace(/\/\/([^@/]*)@/, '//***@');
  const usage = 'use redis://host:port[/db] or in-process';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new PmgError('invalid-argument', `${flag}: '${shown}' is not a URL; ${usage}`, { details: { field: flag } });
  }
  if (url.protocol !== 'redis:')
    throw new PmgError('invalid-argument', `${flag}: scheme '${url.protocol}' is not supported; ${usage}`, { details: { field: flag } });
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new PmgError('invalid-argument', `${flag}: '${shown}' has no host; ${usage}`, { details: { field: flag } });
  const port = url.port === '' ? 6379 : Number(url.port);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,2}$/.test(path))
    throw new PmgError('invalid-argument', `${flag}: database '${path}' is not a number 0-15 (the path of redis://host:port/db)`, { details: { field: flag } });
  const db = path === '' ? 0 : Number(path);
  if (db > 15)
    throw new PmgError('invalid-argument', `${flag}: database ${db} is not a number 0-15 (the path of redis://host:port/db)`, { details: { field: flag } });
  if (url.search || url.hash) throw new PmgError('invalid-argument', `${flag}: '${shown}' has a query or fragment; ${usage}`, { details: { field: flag } });
  const target: RedisQueueTarget = { kind: 'redis', host, port, db };
  const username = decodeURIComponent(url.username);
  let password = decodeURIComponent(url.password);
  if (!password && fallback) {
    try {
      password = decodeURIComponent(new URL(fallback).password);
    } catch {
      throw new PmgError('invalid-argument', 'PMG_REDIS_URL is not a URL; use redis://[:password@]host:port[/db]', { details: { field: 'PMG_REDIS_URL' } });
    }
  }
  if (username) target.username = username;
  if (password) target.password = password;
  return target;
}

/** The target without its password, for messages and logs. */
export function describeQueue(target: QueueTarget): string {
  return target.kind === 'in-process' ? 'in-process' : `redis://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}/${target.db}`;
}
