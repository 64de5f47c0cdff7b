/**
 * The documented response schemas (response-schemas.ts, /openapi.json) against the real server's answers: a
 * generation job, its record, the list, result.json, keywords, models, readiness, an upload, the A1111 route and an
 * error body. A field the server drops or retypes fails here.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { readEvents, startServeFixture, tinyJob, type ServeFixture } from '../testing/serve-fixture.js';
import { openApiDocument } from './openapi.js';
import {
  a1111ResponseSchema,
  errorBodySchema,
  generationResultSchema,
  jobListSchema,
  jobRecordSchema,
  keywordsSchema,
  modelsSchema,
  readySchema,
  submittedSchema,
  uploadedSchema,
} from './response-schemas.js';

let server: ServeFixture;
before(async () => {
  server = await startServeFixture();
});
after(async () => {
  await server.close();
});

/** The body of `response`, checked against `schema` (the zod issues name the path that differs). */
async function parsed<T extends z.ZodType>(response: Response, status: number, schema: T): Promise<z.infer<T>> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  const result = schema.safeParse(JSON.parse(text));
  assert.ok(result.success, `${response.url}: ${result.error?.message}`);
  return result.data!;
}

test('every answer of a generation job matches its documented schema', async () => {
  const submitted = await parsed(await server.post('/v1/generations', tinyJob), 202, submittedSchema);
  const { events } = await readEvents(await server.call(submitted.links.events));
  assert.equal(events.at(-1)?.type, 'done');
  const record = await parsed(await server.call(submitted.links.self), 200, jobRecordSchema);
  assert.equal(record.state, 'done');
  const result = await parsed(await server.call(submitted.links.result), 200, generationResultSchema);
  assert.deepEqual(result, record.result, 'result.json is the record’s result');
  assert.equal(result.candidates.length, 2);
  const list = await parsed(await server.call('/v1/generations?limit=5'), 200, jobListSchema);
  assert.ok(list.jobs.some((job) => job.id === submitted.id));
  const missing = await parsed(await server.call('/v1/generations/j_aaaaaaaaaaaaaaaaaaaa'), 404, errorBodySchema);
  assert.equal(missing.error.code, 'not-found');
});

test('models, readiness, keywords, uploads and the A1111 route match their documented schemas', async () => {
  const models = await parsed(await server.call('/v1/models'), 200, modelsSchema);
  assert.ok(models.methods.includes('pmg'));
  const ready = await parsed(await server.call('/readyz'), 200, readySchema);
  assert.equal(ready.ready, true);
  const keywords = await parsed(
    await server.post('/v1/keywords', { scene: tinyJob.scene, history: tinyJob.history, target: tinyJob.target }),
    200,
    keywordsSchema,
  );
  assert.ok(keywords.preference.length > 0);
  const a1111 = await parsed(await server.post('/sdapi/v1/txt2img', { prompt: 'a cat', steps: 2, width: 64, height: 64 }), 200, a1111ResponseSchema);
  const png = Buffer.from(a1111.images[0]!, 'base64');
  const upload = await server.call('/v1/uploads', { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
  await parsed(upload, 201, uploadedSchema);
});

test('/openapi.json documents each of these answers with its schema', async () => {
  const doc = openApiDocument() as { paths: Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>> };
  for (const [path, method, status] of [
    ['/readyz', 'get', '200'],
    ['/v1/models', 'get', '200'],
    ['/v1/generations', 'post', '202'],
    ['/v1/generations', 'get', '200'],
    ['/v1/generations/{id}', 'get', '200'],
    ['/v1/generations/{id}/result.json', 'get', '200'],
    ['/v1/keywords', 'post', '200'],
    ['/v1/uploads', 'post', '201'],
    ['/sdapi/v1/txt2img', 'post', '200'],
  ] as const)
    assert.ok(doc.paths[path]?.[method]?.responses[status]?.content, `${method} ${path} ${status} has a documented body`);
});
