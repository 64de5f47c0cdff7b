// The HTTP contract of pmg serve (docs/serve.md), over a real socket on the real job engine and fixture models.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sniffImageType } from './upload-store.js';
import { createApp } from './app.js';
import { JOB_ID } from './generation-routes.js';
import { errorOf, readEvents, startServeFixture, tinyJob, type ServeFixture } from '../testing/serve-fixture.js';
import type { JobEvent, JobRecord } from '../service/job-types.js';

let server: ServeFixture;
before(async () => {
  server = await startServeFixture({
    app: { limits: { maxBodyBytes: 16 * 1024, maxUploadBytes: 64 * 1024 } },
  });
});
after(async () => {
  await server?.close();
});

async function submit(body: unknown = tinyJob): Promise<string> {
  const response = await server.post('/v1/generations', body);
  assert.equal(response.status, 202, await response.clone().text());
  const submitted = (await response.json()) as {
    id: string;
    state: string;
    links: { self: string; events: string };
  };
  assert.match(submitted.id, JOB_ID);
  assert.equal(response.headers.get('location'), submitted.links.self);
  assert.equal(submitted.links.events, `/v1/generations/${submitted.id}/events`);
  return submitted.id;
}

test('a job runs to the end: 202, events in order with ids 1..n, the record, images and result.json', async () => {
  const id = await submit();
  const response = await server.call(`/v1/generations/${id}/events`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type')!, /^text\/event-stream/);
  const { events, text } = await readEvents(response);
  assert.deepEqual(
    events.map((e) => e.id),
    events.map((_, i) => i + 1),
  );
  const types = events.map((e) => e.type);
  assert.equal(types[0], 'queued');
  assert.equal(types.at(-1), 'done');
  const order = ['queued', 'started', 'keywords', 'step', 'candidate', 'done'];
  const ranks = types.map((t) => order.indexOf(t));
  assert.ok(ranks.every((r) => r >= 0) && ranks.every((r, i) => i === 0 || r >= ranks[i - 1]!), types.join(','));
  assert.ok(types.includes('step') && types.filter((t) => t === 'candidate').length === 2, types.join(','));
  assert.match(text, /^: /m);
  assert.match(text, /id: 1\nevent: queued\ndata: \{/);

  const record = (await (await server.call(`/v1/generations/${id}`)).json()) as JobRecord;
  assert.equal(record.state, 'done');
  assert.equal(record.kind, 'generation');
  assert.ok(record.images.includes('best') && record.images.includes('candidate-0'), record.images.join(','));
  const best = await server.call(`/v1/generations/${id}/images/best.png`);
  assert.equal(best.headers.get('content-type'), 'image/png');
  assert.equal(sniffImageType(new Uint8Array(await best.arrayBuffer())), 'image/png');
  const result = await server.call(`/v1/generations/${id}/result.json`);
  assert.match(result.headers.get('content-disposition')!, /^attachment; filename="j_[a-z2-7]{20}-result.json"$/);
  const json = (await result.json()) as {
    chosen: number;
    candidates: unknown[];
  };
  assert.equal(json.candidates.length, 2);
  const done = events.at(-1)!;
  assert.equal(done.data.chosen, json.chosen);

  const list = (await (await server.call('/v1/generations?limit=1')).json()) as { jobs: JobRecord[] };
  assert.equal(list.jobs.length, 1);
});

test('Last-Event-ID (header or query) resumes after that id without gaps or repeats; a finished stream ends', async () => {
  const id = await submit();
  const all = (await readEvents(await server.call(`/v1/generations/${id}/events`))).events;
  const from = (events: JobEvent[]) => events.map((e) => `${e.id}:${e.type}`);
  const resumed = await readEvents(
    await server.call(`/v1/generations/${id}/events`, {
      headers: { 'Last-Event-ID': '3' },
    }),
  );
  assert.deepEqual(from(resumed.events), from(all.slice(3)));
  const byQuery = await readEvents(await server.call(`/v1/generations/${id}/events?lastEventId=${all.length - 1}`));
  assert.deepEqual(from(byQuery.events), from(all.slice(-1)));
  const past = await readEvents(
    await server.call(`/v1/generations/${id}/events`, {
      headers: { 'Last-Event-ID': String(all.length) },
    }),
  );
  assert.deepEqual(past.events, []);
  // A live follower that drops after its first step and resumes gets every later event once.
  const live = await submit();
  const first = await readEvents(await server.call(`/v1/generations/${live}/events`), (e) => e.type === 'step');
  const last = first.events.at(-1)!.id;
  const rest = await readEvents(
    await server.call(`/v1/generations/${live}/events`, {
      headers: { 'Last-Event-ID': String(last) },
    }),
  );
  const joined = [...first.events, ...rest.events].map((e) => e.id);
  assert.deepEqual(
    joined,
    joined.map((_, i) => i + 1),
  );
  assert.equal(rest.events.at(-1)!.type, 'done');
});

test('invalid bodies: 400 with the field path and the validator message', async () => {
  const cases: [unknown, string, RegExp][] = [
    [{ ...tinyJob, history: [{ title: 'Alien' }, { title: 7 }] }, 'history.items[1].title', /^history\.items\[1\]\.title must be a string/],
    [{ ...tinyJob, steps: 0 }, 'steps', /^steps must be a whole number between 1 and 1000, got 0/],
    [{ ...tinyJob, colour: 'red' }, 'colour', /colour is not a field of a generation job/],
    [{ ...tinyJob, decoder: '/etc' }, 'decoder', /decoder/],
    [{ ...tinyJob, soft: { module: 'nope' } }, 'soft.module', /unknown soft module 'nope'/],
    [{ ...tinyJob, history: [{ title: 'a', image: '/etc/passwd' }] }, 'history.items[0].image', /history\.items\[0\]\.image/],
    [
      {
        ...tinyJob,
        history: [{ title: 'a', image: 'https://example.com/a.png' }],
      },
      'history.items[0].image',
      /--allow-remote-images/,
    ],
    [{ scene: 'movie', target: { title: 'x' } }, 'history', /history is missing/],
  ];
  for (const [body, field, message] of cases) {
    const error = await errorOf(await server.post('/v1/generations', body));
    assert.equal(error.status, 400, JSON.stringify(body));
    assert.equal(error.code, 'invalid-input');
    assert.equal(error.field, field);
    assert.match(error.message, message);
  }
  const notJson = await errorOf(await server.post('/v1/generations', '{"scene":'));
  assert.equal(notJson.status, 400);
  assert.match(notJson.message, /not valid JSON/);
  const form = await errorOf(
    await server.call('/v1/generations', {
      method: 'POST',
      body: JSON.stringify(tinyJob),
    }),
  );
  assert.equal(form.status, 400);
  assert.match(form.message, /Content-Type: application\/json/);
});

test('413 over the body limit; uploads have their own limit and must be images', async () => {
  const big = await errorOf(
    await server.post('/v1/generations', {
      ...tinyJob,
      history: [{ title: 'x'.repeat(20_000) }],
    }),
  );
  assert.equal(big.status, 413);
  assert.equal(big.code, 'too-large');
  const text = await errorOf(
    await server.call('/v1/uploads', {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: 'not a png',
    }),
  );
  assert.equal(text.status, 400);
  assert.match(text.message, /not a PNG, JPEG or WebP/);
  const svg = await errorOf(
    await server.call('/v1/uploads', {
      method: 'POST',
      headers: { 'content-type': 'image/svg+xml' },
      body: '<svg/>',
    }),
  );
  assert.equal(svg.status, 400);
  const header = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const huge = await errorOf(
    await server.call('/v1/uploads', {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: Buffer.concat([header, Buffer.alloc(70_000)]),
    }),
  );
  assert.equal(huge.status, 413);
});

test('an uploaded image is used by a job through its path; a data: URL works the same', async () => {
  const id = await submit();
  await readEvents(await server.call(`/v1/generations/${id}/events`));
  const png = new Uint8Array(await (await server.call(`/v1/generations/${id}/images/best.png`)).arrayBuffer());
  const upload = await server.call('/v1/uploads', {
    method: 'POST',
    headers: { 'content-type': 'image/png' },
    body: png,
  });
  assert.equal(upload.status, 201);
  const { path } = (await upload.json()) as { path: string };
  assert.ok(path.startsWith(server.dataDir), path);
  // With a title the item needs no captioner; the path passes the engine's uploads-only rule.
  const withPath = await server.post('/v1/generations', {
    ...tinyJob,
    history: [{ title: 'poster', image: path }],
  });
  assert.equal(withPath.status, 202, await withPath.clone().text());
  const dataUrl = `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
  const withData = await server.post('/v1/generations', {
    ...tinyJob,
    history: [{ title: 'poster', image: dataUrl }],
  });
  assert.equal(withData.status, 202, await withData.clone().text());
  const record = (await (await server.call(`/v1/generations/${((await withData.json()) as { id: string }).id}`)).json()) as JobRecord;
  assert.equal((record.job as { history: { items: { image: string }[] } }).history.items[0]!.image, path);
});

test('404s: unknown ids, malformed ids, unknown images, traversal attempts, result before done, unknown routes', async () => {
  const id = await submit();
  await readEvents(await server.call(`/v1/generations/${id}/events`));
  const paths = [
    '/v1/generations/j_aaaaaaaaaaaaaaaaaaaa',
    '/v1/generations/../../etc/passwd',
    '/v1/generations/j_x',
    '/v1/generations/j_aaaaaaaaaaaaaaaaaaaa/events',
    `/v1/generations/${id}/images/nope.png`,
    `/v1/generations/${id}/images/..%2f..%2fpmg.sqlite`,
    `/v1/generations/${id}/images/..%2F..%2F..%2Fetc%2Fpasswd.png`,
    `/v1/generations/${id}/images/%2e%2e%2fbest.png`,
    `/v1/generations/${id}/images/best.jpg`,
    `/v1/generations/${id}/images/BEST.png`,
    '/v1/nothing',
  ];
  for (const path of paths) {
    const response = await server.call(path);
    assert.equal(response.status, 404, path);
    assert.equal((await errorOf(response)).code, 'not-found', path);
  }
  const queued = await submit({ ...tinyJob, steps: 30 });
  const early = await server.call(`/v1/generations/${queued}/result.json`);
  assert.equal(early.status, 404);
  await server.call(`/v1/generations/${queued}`, { method: 'DELETE' });
  assert.equal((await server.call('/v1/generations?limit=0')).status, 400);
  assert.equal((await server.call('/v1/generations?before=../x')).status, 400);
});

test('cancel: a running job stops with a cancelled event; cancelling an ended job changes nothing', async () => {
  const id = await submit({ ...tinyJob, steps: 200 });
  const stream = readEvents(await server.call(`/v1/generations/${id}/events`));
  await new Promise((done) => setTimeout(done, 300));
  const cancelled = await server.call(`/v1/generations/${id}`, {
    method: 'DELETE',
  });
  assert.equal(cancelled.status, 200);
  const { events } = await stream;
  assert.equal(events.at(-1)!.type, 'cancelled');
  const record = (await (await server.call(`/v1/generations/${id}`)).json()) as JobRecord;
  assert.equal(record.state, 'cancelled');
  const again = (await (await server.call(`/v1/generations/${id}`, { method: 'DELETE' })).json()) as JobRecord;
  assert.equal(again.state, 'cancelled');
});

test('the A1111 route answers in its shape: base64 PNGs, parameters with defaults, info as JSON text', async () => {
  const response = await server.post('/sdapi/v1/txt2img', {
    prompt: 'a red bicycle',
    steps: 2,
    width: 64,
    height: 64,
    seed: 7,
    batch_size: 2,
    sampler_name: 'Euler a',
    restore_faces: false,
  });
  assert.equal(response.status, 200, await response.clone().text());
  const body = (await response.json()) as {
    images: string[];
    parameters: Record<string, unknown>;
    info: string;
  };
  assert.equal(body.images.length, 2);
  for (const image of body.images) assert.equal(sniffImageType(Buffer.from(image, 'base64')), 'image/png');
  assert.equal(body.parameters.prompt, 'a red bicycle');
  assert.equal(body.parameters.cfg_scale, 7);
  assert.equal(body.parameters.n_iter, 1);
  const info = JSON.parse(body.info) as {
    seed: number;
    all_seeds: number[];
    prompt: string;
    sampler_name: string;
  };
  assert.equal(info.seed, 7);
  assert.equal(info.all_seeds.length, 2);
  assert.equal(info.prompt, 'a red bicycle');
  const sampler = await errorOf(
    await server.post('/sdapi/v1/txt2img', {
      prompt: 'x',
      sampler_name: 'Heun',
    }),
  );
  assert.equal(sampler.status, 400);
  assert.equal(sampler.field, 'sampler_name');
  assert.match(sampler.message, /Euler a/);
  const steps = await errorOf(await server.post('/sdapi/v1/txt2img', { prompt: 'x', steps: 'many' }));
  assert.equal(steps.status, 400);
  assert.equal(steps.field, 'steps');
});

test('health, readiness, models, keywords, and /openapi.json lists every route of the app', async () => {
  assert.deepEqual(await (await server.call('/healthz')).json(), { ok: true });
  for (let i = 0; i < 100 && (await server.call('/readyz')).status !== 200; i++) await new Promise((done) => setTimeout(done, 100));
  assert.equal((await server.call('/readyz')).status, 200);
  const models = (await (await server.call('/v1/models')).json()) as {
    scenes: string[];
    methods: string[];
  };
  assert.ok(models.scenes.includes('movie') && models.methods.includes('pmg'));
  const keywords = await server.post('/v1/keywords', {
    scene: 'movie',
    history: tinyJob.history,
    target: tinyJob.target,
  });
  assert.equal(keywords.status, 200, await keywords.clone().text());
  assert.ok(Array.isArray(((await keywords.json()) as { preference: unknown }).preference));
  const badKeywords = await errorOf(
    await server.post('/v1/keywords', {
      scene: 'film',
      history: tinyJob.history,
      target: tinyJob.target,
    }),
  );
  assert.equal(badKeywords.field, 'scene');

  const doc = (await (await server.call('/openapi.json')).json()) as {
    openapi: string;
    paths: Record<string, Record<string, unknown>>;
  };
  assert.equal(doc.openapi, '3.1.0');
  const app = createApp({ service: server.service, dataDir: server.dataDir });
  const routes = app.routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/\/$/, '').replace(/:id/g, '{id}').replace(':file', '{name}.png')}`);
  assert.ok(routes.length >= 14, routes.join(', '));
  for (const route of routes) {
    const [method, path] = route.split(' ') as [string, string];
    assert.ok(doc.paths[path]?.[method], `openapi.json lacks ${route}`);
  }
  const schemas = (
    doc as unknown as {
      components: {
        schemas: Record<string, { properties?: Record<string, unknown> }>;
      };
    }
  ).components.schemas;
  assert.ok(schemas.GenerationJob?.properties?.history);
});

test('an A1111 client that goes away cancels its job', async () => {
  const abort = new AbortController();
  const pending = server.call('/sdapi/v1/txt2img', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'gone', steps: 400, width: 64, height: 64 }),
    signal: abort.signal,
  });
  let job: JobRecord | undefined;
  for (let i = 0; i < 100 && !job; i++) {
    await new Promise((done) => setTimeout(done, 20));
    const { jobs } = (await (await server.call('/v1/generations?limit=5')).json()) as { jobs: JobRecord[] };
    job = jobs.find((j) => j.kind === 'txt2img' && (j.job as { prompt: string }).prompt === 'gone');
  }
  assert.ok(job, 'the txt2img job was listed');
  abort.abort();
  await pending.catch(() => undefined);
  let state = '';
  for (let i = 0; i < 200 && state !== 'cancelled'; i++) {
    await new Promise((done) => setTimeout(done, 20));
    state = ((await (await server.call(`/v1/generations/${job.id}`)).json()) as JobRecord).state;
  }
  assert.equal(state, 'cancelled');
  const { jobs } = (await (await server.call('/v1/generations?limit=5')).json()) as { jobs: JobRecord[] };
  for (const other of jobs.filter((j) => j.state === 'queued' || j.state === 'running')) await server.call(`/v1/generations/${other.id}`, { method: 'DELETE' });
});
