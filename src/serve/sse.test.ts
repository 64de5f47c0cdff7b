import assert from 'node:assert/strict';
import test from 'node:test';
import { resumeAfter, sseFrame } from './sse.js';

test('an SSE frame is id, event and one data line', () => {
  const frame = sseFrame({ id: 3, type: 'step', at: '2026-12-01T00:00:00Z', data: { step: 2, note: 'a\nb' } });
  assert.equal(frame, 'id: 3\nevent: step\ndata: {"step":2,"note":"a\\nb"}\n\n');
});

test('resume after the Last-Event-ID header, else ?lastEventId=, else from the start', () => {
  assert.equal(resumeAfter('7', '2'), 7);
  assert.equal(resumeAfter(undefined, '2'), 2);
  assert.equal(resumeAfter(undefined, undefined), 0);
  assert.equal(resumeAfter('x', undefined), 0);
  assert.equal(resumeAfter('-4', undefined), 0);
  assert.equal(resumeAfter(' 5 ', undefined), 5);
});
