import assert from 'node:assert/strict';
import test from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { resolveSchedulerName } from '../schedulers/index.js';
import { a1111Error, a1111Response, a1111Samplers, a1111ToJob } from './a1111.js';
import { a1111Txt2ImgSchema } from './job-schema.js';

test('an A1111 body becomes a txt2img job; samplers map to pmg schedulers that exist', () => {
  const body = a1111Txt2ImgSchema.parse({
    prompt: 'a cat',
    negative_prompt: 'blurry',
    steps: 4,
    cfg_scale: 3,
    width: 64,
    height: 32,
    seed: 9,
    batch_size: 2,
    n_iter: 2,
    sampler_name: 'Euler a',
  });
  assert.deepEqual(a1111ToJob(body), {
    prompt: 'a cat',
    negative: 'blurry',
    steps: 4,
    guidance: 3,
    width: 64,
    height: 32,
    seed: 9,
    count: 4,
    scheduler: 'euler-ancestral',
  });
  for (const scheduler of Object.values(a1111Samplers)) assert.equal(resolveSchedulerName(scheduler), scheduler);
  assert.equal(a1111ToJob(a1111Txt2ImgSchema.parse({ sampler_name: 'ddim' })).scheduler, 'ddim');
  const random = a1111ToJob(a1111Txt2ImgSchema.parse({ prompt: 'x' }));
  assert.ok(Number.isInteger(random.seed) && random.seed! >= 0);
  assert.equal(random.scheduler, undefined);
  assert.equal(random.steps, 50);
});

test('an unknown sampler is a 400 naming sampler_name and listing the accepted ones', () => {
  assert.throws(
    () => a1111ToJob(a1111Txt2ImgSchema.parse({ sampler_name: 'Heun' })),
    (e: unknown) => e instanceof PmgError && e.code === 'invalid-input' && e.details.field === 'sampler_name' && /Euler a, DDIM/.test(e.message),
  );
});

test("engine errors about job fields are told with A1111's names", () => {
  const renamed = a1111Error(new PmgError('invalid-input', 'guidance must be a number', { details: { field: 'guidance' } })) as PmgError;
  assert.equal(renamed.details.field, 'cfg_scale');
  assert.equal(renamed.message, 'cfg_scale must be a number');
  const same = new PmgError('invalid-input', 'steps must be ...', { details: { field: 'steps' } });
  assert.equal(a1111Error(same), same);
  assert.equal((a1111Error(new PmgError('invalid-input', 'x', { details: { field: 'count' } })) as PmgError).message, 'batch_size: x');
});

test("the response has A1111's shape: base64 images, parameters, info as JSON text", () => {
  const body = a1111Txt2ImgSchema.parse({ prompt: 'a cat', steps: 2, seed: 5, batch_size: 2 });
  const job = a1111ToJob(body);
  const response = a1111Response(body, job, [Buffer.from('one'), Buffer.from('two')], [5, 6]);
  assert.deepEqual(response.images, ['b25l', 'dHdv']);
  assert.equal(response.parameters, body);
  const info = JSON.parse(response.info) as Record<string, unknown>;
  assert.equal(info.seed, 5);
  assert.deepEqual(info.all_seeds, [5, 6]);
  assert.deepEqual(info.all_prompts, ['a cat', 'a cat']);
  assert.equal(info.steps, 2);
});
