import assert from 'node:assert/strict';
import test from 'node:test';
import type { SoftRequest } from '../personalize/personalize-request.js';
import { checkGenerationJob } from './generation-job.js';
import { jobToPersonalizeRequest } from './job-request.js';

const job = checkGenerationJob({
  scene: 'movie',
  history: [{ title: 'Alien' }],
  target: { title: 'Up' },
  steps: 2,
  decoder: '/taesd',
  finalDecoder: 'tiny',
  soft: { module: '/soft', weight: 0.5 },
});

test('a job plus runtime things becomes a personalize request: data kept, soft weight from the job, the decoder left to the model set', () => {
  const warn = (): void => {};
  const soft = { module: {}, body: {}, weight: 1 } as unknown as SoftRequest;
  const request = jobToPersonalizeRequest(job, { soft, warn });
  assert.equal(request.steps, 2);
  assert.equal(request.finalDecoder, 'tiny');
  assert.equal(request.warn, warn);
  assert.equal(request.soft?.weight, 0.5);
  assert.equal(request.soft?.module, soft.module);
  assert.ok(!('decoder' in request));
  assert.deepEqual(request.history, { items: [{ title: 'Alien' }] });
});

test('a job with a soft module needs the opened soft branch, and only then', () => {
  assert.throws(() => jobToPersonalizeRequest(job), /no opened soft branch/);
  const plain = checkGenerationJob({ scene: 'movie', history: [{ title: 'Alien' }], target: { title: 'Up' } });
  assert.throws(() => jobToPersonalizeRequest(plain, { soft: {} as SoftRequest }), /job without a soft module/);
  assert.equal(jobToPersonalizeRequest(plain).soft, undefined);
});
