// pmg serve's protections over a real socket on the real engine: the API key, CORS, the queue limit, and the event
// stream's heartbeat and cleanup when a client leaves.
import assert from 'node:assert/strict';
import test from 'node:test';
import { errorOf, readEvents, startServeFixture, tinyJob } from '../testing/serve-fixture.js';

test('with PMG_API_KEY: 401 without the key, the key as a bearer, ?access_token= only for events; health stays open', async () => {
  const keyed = await startServeFixture({ app: { apiKey: 'k3y-for-tests' } });
  try {
    const denied = await keyed.post('/v1/generations', tinyJob);
    assert.equal(denied.status, 401);
    assert.equal((await errorOf(denied)).code, 'unauthorized');
    assert.equal((await keyed.call('/v1/models')).status, 401);
    assert.equal(
      (
        await keyed.call('/v1/models', {
          headers: { Authorization: 'Bearer wrong' },
        })
      ).status,
      401,
    );
    assert.equal((await keyed.post('/sdapi/v1/txt2img', { prompt: 'x' })).status, 401);
    assert.equal((await keyed.call('/healthz')).status, 200);
    assert.equal((await keyed.call('/openapi.json')).status, 200);
    const ok = await keyed.post('/v1/generations', tinyJob, {
      Authorization: 'Bearer k3y-for-tests',
    });
    assert.equal(ok.status, 202);
    const { id } = (await ok.json()) as { id: string };
    assert.equal((await keyed.call(`/v1/generations/${id}?access_token=k3y-for-tests`)).status, 401);
    const events = await keyed.call(`/v1/generations/${id}/events?access_token=k3y-for-tests`);
    assert.equal(events.status, 200);
    assert.equal((await readEvents(events)).events.at(-1)!.type, 'done');
  } finally {
    await keyed.close();
  }
});

test('a full queue answers 429 with Retry-After; every accepted job completes', async () => {
  const small = await startServeFixture({
    service: { queueSize: 1, concurrency: 1 },
  });
  try {
    const responses = await Promise.all([0, 1, 2, 3].map(() => small.post('/v1/generations', { ...tinyJob, steps: 8 })));
    const statuses = responses.map((r) => r.status);
    assert.ok(statuses.includes(429), statuses.join(','));
    assert.ok(statuses.filter((s) => s === 202).length >= 1, statuses.join(','));
    for (const response of responses) {
      if (response.status === 429) {
        assert.match(response.headers.get('retry-after')!, /^\d+$/);
        assert.equal((await errorOf(response)).code, 'queue-full');
      } else {
        const { id } = (await response.json()) as { id: string };
        assert.equal((await readEvents(await small.call(`/v1/generations/${id}/events`))).events.at(-1)!.type, 'done');
      }
    }
  } finally {
    await small.close();
  }
});

test('the events stream sends heartbeats and unsubscribes when the client goes away', async () => {
  const quick = await startServeFixture({ app: { heartbeatMs: 40 } });
  const service = quick.service;
  let live = 0;
  const subscribe = service.subscribe.bind(service);
  service.subscribe = (id, listener) => {
    live++;
    const unsubscribe = subscribe(id, listener);
    return () => {
      live--;
      unsubscribe();
    };
  };
  try {
    const response = await quick.post('/v1/generations', {
      ...tinyJob,
      steps: 400,
    });
    const { id } = (await response.json()) as { id: string };
    const abort = new AbortController();
    const events = await quick.call(`/v1/generations/${id}/events`, {
      signal: abort.signal,
    });
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes(': heartbeat')) text += (await reader.read()).value ?? '';
    assert.equal(live, 1);
    abort.abort();
    for (let i = 0; i < 50 && live > 0; i++) await new Promise((done) => setTimeout(done, 20));
    assert.equal(live, 0);
    await quick.call(`/v1/generations/${id}`, { method: 'DELETE' });
  } finally {
    await quick.close();
  }
});

test('CORS is off unless an origin is configured; then preflights pass before the key check', async () => {
  const closed = await startServeFixture();
  try {
    const plain = await closed.call('/v1/models', { headers: { Origin: 'https://app.example' } });
    assert.equal(plain.headers.get('access-control-allow-origin'), null);
  } finally {
    await closed.close();
  }
  const open = await startServeFixture({
    app: { cors: 'https://app.example', apiKey: 'k' },
  });
  try {
    const preflight = await open.call('/v1/generations', {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    });
    assert.ok(preflight.status === 204 || preflight.status === 200, String(preflight.status));
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(preflight.headers.get('access-control-allow-headers')!, /Authorization/i);
    const denied = await open.call('/v1/models', {
      headers: { Origin: 'https://app.example' },
    });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('access-control-allow-origin'), 'https://app.example');
  } finally {
    await open.close();
  }
});
