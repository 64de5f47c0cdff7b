/**
 * What personalize() records in its PNGs (the candidate images `pmg generate`, `pmg eval` and `pmg demo` write) and
 * how it takes initial latents: every PNG carries the A1111 `parameters` and the `pmg` record; an early-search
 * preview says it is one; given latents replace the seed's noise and are recorded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { SeededRandom } from '../core/random.js';
import type { GenerationRecord } from '../pipeline/generation-record.js';
import { fixtureModelSet, type FixtureModelSet } from '../testing/fixture-model-set.js';
import { givenKeywordResult } from '../testing/given-keyword-result.js';
import { movieRequest } from '../testing/movie-inputs.js';
import { textChunks, walkPng } from '../testing/png-chunks.js';
import type { ModelSet } from '../providers/model-set.js';
import { personalize, type PersonalizeRequest } from './personalize.js';

let fixture: FixtureModelSet;
let models: ModelSet;

before(async () => {
  fixture = await fixtureModelSet('pmg-personalize-records-');
  models = fixture.models;
});
after(() => fixture?.close());

const keywords = givenKeywordResult(['vintage', 'noir'], ['dark', 'space']);
const base: PersonalizeRequest = {
  ...movieRequest(4, [{ title: 'Heat' }], { title: 'Alien' }),
  keywords,
};

const pixels = (png: Buffer) => PNG.sync.read(png).data;

test('every candidate PNG carries A1111 parameters and its pmg record (scheduler, timesteps, seed)', async () => {
  const r = await personalize(models, { ...base, weights: [1, 2] });
  r.candidates.forEach((c) => {
    assert.ok(walkPng(c.png).every((chunk) => chunk.crcOk));
    const texts = textChunks(c.png);
    assert.equal(
      texts['parameters']!.text,
      `${c.prompt}\nNegative prompt: ${c.negative}\nSteps: 4, Sampler: PLMS, CFG scale: 7.5, Seed: 3, Size: 64x64, Model: ${models.ids.sd}`,
    );
    const record = JSON.parse(texts['pmg']!.text) as GenerationRecord;
    assert.equal(record.prompt, c.prompt);
    assert.equal(record.model, models.ids.sd);
    assert.deepEqual(record.scheduler.timesteps, [751, 501, 501, 251, 1]);
    assert.equal(record.scheduler.config['steps_offset'], 1);
    assert.deepEqual(record.images, [{ seed: 3 }]);
    assert.equal(record.previewAfterStep, undefined);
  });
});

test('early search: an unfinished candidate PNG says it is a preview', async () => {
  const r = await personalize(models, { ...base, weights: [1, 2], search: 'early', earlyKeep: 1 });
  const preview = r.candidates.find((c) => !c.finished)!;
  const record = JSON.parse(textChunks(preview.png)['pmg']!.text) as GenerationRecord;
  assert.equal(record.previewAfterStep, r.settings.earlySteps);
  const done = r.candidates.find((c) => c.finished)!;
  assert.equal((JSON.parse(textChunks(done.png)['pmg']!.text) as GenerationRecord).previewAfterStep, undefined);
});

test("given latents replace the seed noise: the seed's own noise as latents gives the same pixels; recorded", async () => {
  const noise = new SeededRandom(3).fillGaussian(new Float32Array(4 * 8 * 8));
  const source = { file: '/data/start.npy', sha256: 'cd'.repeat(32) };
  const seeded = await personalize(models, { ...base, weights: [1, 2] });
  const given = await personalize(models, { ...base, weights: [1, 2], seed: 9, latents: { data: noise, dims: [1, 4, 8, 8] }, latentsSource: source });
  given.candidates.forEach((c, i) => assert.deepEqual(pixels(c.png), pixels(seeded.candidates[i]!.png), `candidate ${i}`));
  assert.deepEqual(given.settings.latents, source);
  const record = JSON.parse(textChunks(given.candidates[1]!.png)['pmg']!.text) as GenerationRecord;
  assert.deepEqual(record.images, [{ seed: 9, latents: { ...source, row: 0 } }]);
  await assert.rejects(
    personalize(models, { ...base, weights: [1, 2], latents: { data: new Float32Array(768), dims: [3, 4, 8, 8] } }),
    /the latents tensor has shape \[3, 4, 8, 8\]; expected \[2 or 1, 4, 8, 8\]/,
  );
});
