import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { validateRequestShape } from './request-validation.js';

const ok = { scene: 'movie', history: { items: [{ title: 'Heat' }] }, target: { item: { title: 'Drive' } } };

function refused(request: unknown, field: string, message: RegExp): void {
  assert.throws(
    () => validateRequestShape(request),
    (e: unknown) =>
      e instanceof PmgError && e.code === 'invalid-input' && (e.details.field ?? '') === field && message.test(e.message) && !e.message.includes('\n'),
    `${field}: ${JSON.stringify(request)}`,
  );
}

test('a good request comes back normalized: a bare list of items is a history', () => {
  assert.deepEqual(validateRequestShape({ ...ok, history: [{ title: 'Heat' }] }).history, { items: [{ title: 'Heat' }] });
  assert.equal(validateRequestShape(ok).scene, 'movie');
});

test('each wrong field is one line naming its path', () => {
  refused(null, '', /must be an object with scene, history and target, got null/);
  refused({ ...ok, scene: 'poster' }, 'scene', /scene must be one of movie, fashion, sticker, got "poster"/);
  refused({ ...ok, history: undefined }, 'history', /history is missing/);
  refused({ ...ok, target: undefined }, 'target', /target is missing/);
  refused({ ...ok, history: 'Heat' }, 'history', /^history must be a list of items/);
  refused(
    { ...ok, history: { items: [{ title: 'a' }, { title: 'b' }, { title: 'c' }, { title: 7 }] } },
    'history.items[3].title',
    /^history\.items\[3\]\.title must be a string$/,
  );
  refused({ ...ok, history: [{ title: 'a', genres: [1] }] }, 'history.items[0].genres[0]', /history\.items\[0\]\.genres\[0\] must be a string/);
  refused({ ...ok, target: { item: { title: 5 } } }, 'target.item.title', /^target\.item\.title must be a string$/);
  refused({ ...ok, target: { title: 5 } }, 'target.title', /^target\.title must be a string$/);
  refused({ ...ok, target: { conversation: [{ speaker: 'a' }] } }, 'target.conversation[0].text', /target\.conversation\[0\]\.text must be a string/);
  refused({ ...ok, alpha: '0.5' }, 'alpha', /alpha must be a number, got "0.5"/);
  refused({ ...ok, steps: Number.NaN }, 'steps', /steps must be a number/);
  refused({ ...ok, weights: 2 }, 'weights', /weights must be a list of numbers, got 2/);
  refused({ ...ok, weights: [1, '2'] }, 'weights[1]', /weights\[1\] must be a number, got "2"/);
  refused({ ...ok, mode: 3 }, 'mode', /mode must be a string, got 3/);
});
