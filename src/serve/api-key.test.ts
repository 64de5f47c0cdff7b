import assert from 'node:assert/strict';
import test from 'node:test';
import { Hono } from 'hono';
import { PmgError } from '../errors/pmg-error.js';
import { checkBind, isLoopbackHost, keyMatches, requireApiKey } from './api-key.js';

test('keyMatches compares whole keys of any length', () => {
  assert.equal(keyMatches('s3cret', 's3cret'), true);
  assert.equal(keyMatches('s3cret', 's3cre'), false);
  assert.equal(keyMatches('s3cret', 's3cret-and-more'), false);
  assert.equal(keyMatches('s3cret', ''), false);
  assert.equal(keyMatches('s3cret', undefined), false);
});

test('loopback hosts; a non-loopback bind needs a key', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(host), true, host);
  for (const host of ['0.0.0.0', '::', '192.168.1.4', 'example.com', '128.0.0.1']) assert.equal(isLoopbackHost(host), false, host);
  assert.doesNotThrow(() => checkBind('127.0.0.1', undefined));
  assert.doesNotThrow(() => checkBind('0.0.0.0', 'key'));
  assert.throws(
    () => checkBind('0.0.0.0', undefined),
    (e: unknown) => e instanceof PmgError && e.code === 'invalid-argument' && /PMG_API_KEY/.test(e.message) && !e.message.includes('\n'),
  );
});

test('the bearer check; the query token only on the events route', async () => {
  const app = new Hono();
  app.onError((e, c) => c.json({ code: (e as PmgError).code }, 401));
  app.use('/v1/*', requireApiKey('k3y'));
  app.get('/v1/generations/:id/events', (c) => c.text('events'));
  app.get('/v1/models', (c) => c.text('models'));
  const status = async (path: string, headers: Record<string, string> = {}) => (await app.request(path, { headers })).status;
  assert.equal(await status('/v1/models'), 401);
  assert.equal(await status('/v1/models', { Authorization: 'Bearer nope' }), 401);
  assert.equal(await status('/v1/models', { Authorization: 'Bearer k3y' }), 200);
  assert.equal(await status('/v1/models', { Authorization: 'bearer k3y' }), 200);
  assert.equal(await status('/v1/models?access_token=k3y'), 401);
  assert.equal(await status('/v1/generations/j_x/events?access_token=k3y'), 200);
  assert.equal(await status('/v1/generations/j_x/events?access_token=bad'), 401);
  assert.equal((await app.request('/v1/models')).headers.get('www-authenticate'), 'Bearer');
});
