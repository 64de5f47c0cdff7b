import assert from 'node:assert/strict';
import test from 'node:test';
import { checkGenerationJob } from '../jobs/generation-job.js';
import { MAX_RELAYED_PREVIEWS, queueUnit } from './queued-execution.js';

/** A job with every data field set (the fields the service takes: no soft, decoder or generator). */
const everyField = {
  scene: 'movie',
  history: [{ title: 'Alien', genres: ['Horror'] }, { title: 'Heat' }],
  target: { title: 'Up' },
  method: 'pmg',
  alpha: 0.4,
  mode: 'embed',
  weights: [0.5, 1],
  targetWeight: 1.2,
  search: 'early',
  earlyFraction: 0.25,
  earlyKeep: 1,
  previewScale: 2,
  steps: 40,
  guidance: 6.5,
  seed: 11,
  width: 64,
  height: 64,
  scheduler: 'ddim',
  promptStyle: 'pmg',
  finalDecoder: 'vae',
};

test('a queue unit carries every data field of a service job: nothing is dropped on the way to the worker', () => {
  const job = checkGenerationJob(everyField);
  const unit = queueUnit(job) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(job)) assert.deepEqual(unit[key], JSON.parse(JSON.stringify(value)), `unit.${key}`);
  assert.deepEqual(Object.keys(job).sort(), Object.keys(everyField).sort(), 'the test job sets every field');
  assert.deepEqual(unit.relay, { previewEvery: Math.ceil(40 / MAX_RELAYED_PREVIEWS) });
});

test('previews are asked every step for short jobs, every k-th step for long ones (at most MAX_RELAYED_PREVIEWS)', () => {
  const short = queueUnit(checkGenerationJob({ ...everyField, steps: 4 })) as { relay?: { previewEvery: number } };
  assert.equal(short.relay?.previewEvery, 1);
  const long = queueUnit(checkGenerationJob({ ...everyField, steps: 50 })) as { relay?: { previewEvery: number } };
  assert.equal(long.relay?.previewEvery, 5);
});
