import assert from 'node:assert/strict';
import test from 'node:test';
import { openApiDocument } from './openapi.js';

test('the OpenAPI document: 3.1, every operation answers something, schemas referenced exist, extra paths merged', () => {
  const doc = openApiDocument({ '/v1/datasets': { get: { summary: 'datasets', responses: { 200: { description: 'ok' } } } } }) as {
    openapi: string;
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    components: { schemas: Record<string, { required?: string[] }> };
  };
  assert.equal(doc.openapi, '3.1.0');
  assert.ok(doc.paths['/v1/datasets']?.get);
  assert.ok(doc.paths['/v1/generations']?.post && doc.paths['/sdapi/v1/txt2img']?.post);
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) assert.ok(Object.keys(operation.responses).length > 0, `${method} ${path}`);
  }
  const refs = [...JSON.stringify(doc).matchAll(/"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]!);
  assert.ok(refs.length > 0);
  for (const name of refs) assert.ok(doc.components.schemas[name], name);
  assert.deepEqual(doc.components.schemas.GenerationJob?.required?.sort(), ['history', 'scene', 'target']);
});
