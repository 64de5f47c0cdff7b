import assert from 'node:assert/strict';
import test from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { fullGenerationJob } from '../testing/generation-jobs.js';
import { checkGenerationJob, type GenerationJob } from './generation-job.js';

const full = fullGenerationJob;

test('a valid job round-trips through JSON unchanged', () => {
  const wire = JSON.parse(JSON.stringify(full)) as unknown;
  const checked = checkGenerationJob(wire, { allowGenerator: true });
  assert.deepEqual(checked, full);
  assert.deepEqual(JSON.parse(JSON.stringify(checked)), full);
});

test('a minimal job keeps only what was given; a bare history list is normalized to { items }', () => {
  const checked = checkGenerationJob({ scene: 'fashion', history: [{ title: 'red dress' }], target: { title: 'shoes' } });
  assert.deepEqual(checked, { scene: 'fashion', history: { items: [{ title: 'red dress' }] }, target: { item: { title: 'shoes' } } });
});

const base = { scene: 'movie', history: { items: [{ title: 'Alien' }] }, target: { item: { title: 'Up' } } };
const longTitle = 'x'.repeat(2001);
const cases: [string, unknown, string, RegExp][] = [
  ['not an object', [1], '', /^a generation job must be an object/],
  ['unknown scene', { ...base, scene: 'cars' }, 'scene', /^scene must be one of movie, fashion, sticker, got "cars"/],
  ['missing history', { ...base, history: undefined }, 'history', /^history is missing/],
  [
    'history item title not a string',
    { ...base, history: { items: [{ title: 'a' }, { title: 'b' }, { title: 'c' }, { title: 5 }] } },
    'history.items[3].title',
    /^history\.items\[3\]\.title must be a string/,
  ],
  ['history title over the limit', { ...base, history: { items: [{ title: longTitle }] } }, 'history.items[0].title', /over the limit of 2000/],
  [
    'history over 200 items',
    { ...base, history: { items: Array.from({ length: 201 }, () => ({ title: 't' })) } },
    'history.items',
    /201 items, over the limit of 200/,
  ],
  ['target without text', { ...base, target: { item: { year: 1 } } }, 'target.item', /^target\.item needs a "title"/],
  ['unknown field', { ...base, stepz: 4 }, 'stepz', /^stepz is not a field of a generation job/],
  ['alpha above 1', { ...base, alpha: 1.5 }, 'alpha', /^alpha must be a number between 0 and 1, got 1\.5/],
  ['alpha as a string', { ...base, alpha: '0.5' }, 'alpha', /^alpha must be a number between 0 and 1, got "0\.5"/],
  ['negative weight', { ...base, weights: [1, -2] }, 'weights[1]', /^weights\[1\] must be a number >= 0, got -2/],
  ['empty weights', { ...base, weights: [] }, 'weights', /^weights must be a non-empty list/],
  ['fractional steps', { ...base, steps: 2.5 }, 'steps', /^steps must be a whole number between 1 and 1000, got 2\.5/],
  ['width not a multiple of 8', { ...base, width: 100 }, 'width', /^width must be a multiple of 8 from 8 to 4096, got 100/],
  ['height over the largest side', { ...base, height: 4104 }, 'height', /^height must be a multiple of 8 from 8 to 4096, got 4104/],
  ['negative seed', { ...base, seed: -1 }, 'seed', /^seed must be a whole number >= 0, got -1/],
  ['early fraction 1', { ...base, earlyFraction: 1 }, 'earlyFraction', /^earlyFraction must be a number between 0 and 1 \(exclusive\), got 1/],
  ['preview scale 3', { ...base, previewScale: 3 }, 'previewScale', /^previewScale must be one of 1, 2, 4, got 3/],
  ['unknown prompt style', { ...base, promptStyle: 'fancy' }, 'promptStyle', /^promptStyle must be one of official, pmg/],
  ['unknown final decoder', { ...base, finalDecoder: 'big' }, 'finalDecoder', /^finalDecoder must be one of vae, tiny/],
  ['soft without module', { ...base, soft: { weight: 1 } }, 'soft.module', /^soft\.module must be a non-empty string, got nothing/],
  ['negative soft weight', { ...base, soft: { module: '/s', weight: -1 } }, 'soft.weight', /^soft\.weight must be a number >= 0, got -1/],
  ['soft flag not boolean', { ...base, soft: { module: '/s', allowLlmMismatch: 'yes' } }, 'soft.allowLlmMismatch', /must be true or false/],
  ['method soft without a module', { ...base, method: 'soft' }, 'soft', /^soft is missing: method 'soft' needs a soft module/],
  ['soft module with target-only', { ...base, method: 'target-only', soft: { module: '/s' } }, 'soft', /does not use a soft module/],
  ['target weight in repeat mode', { ...base, targetWeight: 2 }, 'targetWeight', /^targetWeight 2 needs mode embed/],
  ['weights with method keywords', { ...base, method: 'keywords', weights: [1] }, 'weights', /^weights are only used by method 'pmg'/],
];
for (const [name, value, field, message] of cases) {
  test(`invalid job (${name}): one PmgError naming ${field || 'the job'}`, () => {
    assert.throws(
      () => checkGenerationJob(value),
      (error: unknown) => {
        assert.ok(error instanceof PmgError);
        assert.equal(error.code, 'invalid-input');
        assert.equal(error.details.field, field || undefined);
        assert.match(error.message, message);
        assert.ok(!error.message.includes('\n'));
        return true;
      },
    );
  });
}

test("the job field 'generator': a remote generator spec where the interface allows it, refused in one line elsewhere", () => {
  const withGenerator = (generator: unknown) => ({ ...base, generator });
  assert.equal(checkGenerationJob(withGenerator(' a1111:http://127.0.0.1:7860 '), { allowGenerator: true }).generator, 'a1111:http://127.0.0.1:7860');
  assert.equal(
    checkGenerationJob(withGenerator('comfyui:http://gpu-3:8188#ckpt=sd15.safetensors'), { allowGenerator: true }).generator,
    'comfyui:http://gpu-3:8188#ckpt=sd15.safetensors',
  );
  const refused = (value: unknown, message: RegExp, options = { allowGenerator: true }) =>
    assert.throws(
      () => checkGenerationJob(withGenerator(value), options),
      (error: unknown) => error instanceof PmgError && error.code === 'invalid-input' && error.details.field === 'generator' && message.test(error.message),
      String(value),
    );
  refused(
    'a1111:http://127.0.0.1:7860',
    /^generator: this interface runs every job on its own model set; run remote generators with pmg generate --generator$/,
    {
      allowGenerator: false,
    },
  );
  refused('onnx:./fx/sd', /^generator: 'onnx:.\/fx\/sd' is not a remote generator; write a1111:http:\/\/host:port or comfyui:/);
  refused('a1111:localhost:7860', /^generator: 'a1111:localhost:7860' has a localhost: URL, not http or https/);
  refused('a1111:http://h:1#ckpt=x', /^generator: 'a1111:http:\/\/h:1#ckpt=x' has an unknown option 'ckpt'; write a1111:http:\/\/host:port$/);
  refused(7860, /^generator must be a non-empty string, got 7860$/);
});
