import assert from 'node:assert/strict';
import test from 'node:test';
import { Hono } from 'hono';
import { PmgError } from '../errors/pmg-error.js';
import { listen } from './server.js';

test('listen on port 0 answers on the URL it reports; a port in use is an error naming --port; close ends open streams', async () => {
  const app = new Hono();
  app.get('/hello', (c) => c.text('hi'));
  app.get('/forever', () => new Response(new ReadableStream({ start: (controller) => controller.enqueue(new TextEncoder().encode(': open\n\n')) })));
  const server = await listen(app, '127.0.0.1', 0);
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await (await fetch(`${server.url}/hello`)).text(), 'hi');
    await assert.rejects(
      listen(app, '127.0.0.1', server.port),
      (e: unknown) =>
        e instanceof PmgError && e.code === 'invalid-argument' && e.message === `port ${server.port} on 127.0.0.1 is in use; pick another with --port`,
    );
    const open = await fetch(`${server.url}/forever`);
    assert.equal(open.status, 200);
  } finally {
    const started = Date.now();
    await server.close();
    assert.ok(Date.now() - started < 2000, 'close did not wait for the open stream');
  }
});
