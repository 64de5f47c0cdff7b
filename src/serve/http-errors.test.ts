import assert from 'node:assert/strict';
import test from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { errorResponse } from './http-errors.js';

test('PmgError codes map to HTTP statuses with the field and Retry-After', () => {
  const field = errorResponse(new PmgError('invalid-input', 'history.items[3].title: too long', { details: { field: 'history.items[3].title' } }));
  assert.equal(field.status, 400);
  assert.deepEqual(field.body, { error: { code: 'invalid-input', message: 'history.items[3].title: too long', field: 'history.items[3].title' } });
  assert.equal(errorResponse(new PmgError('invalid-argument', 'x')).status, 400);
  assert.equal(errorResponse(new PmgError('not-found', 'x')).status, 404);
  assert.equal(errorResponse(new PmgError('unauthorized', 'x')).status, 401);
  const full = errorResponse(new PmgError('queue-full', 'full', { details: { retryAfterSeconds: 2.2 } }));
  assert.equal(full.status, 429);
  assert.equal(full.headers['Retry-After'], '3');
  assert.equal(errorResponse(new PmgError('queue-full', 'full')).headers['Retry-After'], '1');
});

test('anything else is a 500 without a stack; the log gets the details', () => {
  const logged: string[] = [];
  const bug = errorResponse(new TypeError('x is undefined'), (m) => logged.push(m));
  assert.equal(bug.status, 500);
  assert.deepEqual(bug.body, { error: { code: 'internal', message: 'the server failed on this request; see its log' } });
  assert.match(logged[0]!, /TypeError: x is undefined\n\s+at /);
  const model = errorResponse(new PmgError('model-file-missing', 'sd/unet/model.onnx is missing'), (m) => logged.push(m));
  assert.equal(model.status, 500);
  assert.deepEqual(model.body, { error: { code: 'model-file-missing', message: 'sd/unet/model.onnx is missing' } });
});
