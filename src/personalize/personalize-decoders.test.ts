/**
 * The tiny autoencoder in a PMG run: which decoder makes the final images (VAE or tiny, recorded per candidate, in
 * settings and in every PNG), the tiny decoder for early-search and live previews whenever the model set has one,
 * and how the model set chooses its decoder (preset, folder, --decoder, none).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import type { GenerationRecord } from '../pipeline/generation-record.js';
import type { StepPreview } from '../pipeline/step-preview.js';
import type { VaeDecoder } from '../spec/diffusion-models.js';
import { fixtureModelSet, type FixtureModelSet } from '../testing/fixture-model-set.js';
import { givenKeywordResult } from '../testing/given-keyword-result.js';
import { movieRequest } from '../testing/movie-inputs.js';
import { textChunks } from '../testing/png-chunks.js';
import { resolveModelSpecs, type ModelSet } from '../providers/model-set.js';
import { personalize, type PersonalizeRequest } from './personalize.js';
import { presets } from '../providers/presets.js';

let fixture: FixtureModelSet;
let models: ModelSet;

before(async () => {
  fixture = await fixtureModelSet('pmg-personalize-decoders-', { decoder: true });
  models = fixture.models;
});
after(() => fixture?.close());

const keywords = givenKeywordResult(['vintage', 'noir'], ['dark', 'space']);
const base: PersonalizeRequest = {
  ...movieRequest(4, [{ title: 'Heat' }], { title: 'Alien' }),
  keywords,
  weights: [1, 2],
};
const recordOf = (png: Buffer) => JSON.parse(textChunks(png)['pmg']!.text) as GenerationRecord;

/** The model set with both decoders wrapped so that each call's latent shape is recorded. */
function spied(): { models: ModelSet; vae: number[][]; tiny: number[][] } {
  const vae: number[][] = [];
  const tiny: number[][] = [];
  const wrap = (inner: VaeDecoder, seen: number[][]): VaeDecoder => ({
    scalingFactor: inner.scalingFactor,
    decode: (l) => (seen.push([...l.dims]), inner.decode(l)),
  });
  return {
    models: {
      ...models,
      sd: { ...models.sd, vaeDecoder: wrap(models.sd.vaeDecoder, vae) },
      decoder: { ...models.decoder!, decoder: wrap(models.decoder!.decoder, tiny) },
    },
    vae,
    tiny,
  };
}

test("a fixtures folder's taesd/ is loaded for previews; the final images stay the VAE's", async () => {
  assert.equal(models.ids.decoder, join(fixture.root, 'fx', 'taesd'));
  assert.equal(models.decoder?.decoder.scalingFactor, 1);
  assert.equal(models.finalDecoder, 'vae');
  const s = spied();
  const r = await personalize(s.models, base);
  assert.deepEqual(s.vae, [
    [1, 4, 8, 8],
    [1, 4, 8, 8],
  ]);
  assert.deepEqual(s.tiny, [], 'no previews in an exhaustive run');
  assert.deepEqual(
    r.candidates.map((c) => c.decoder),
    ['vae', 'vae'],
  );
  assert.equal(r.settings.finalDecoder, 'vae');
  assert.equal(r.settings.previewDecoder, undefined);
  const record = recordOf(r.candidates[0]!.png);
  assert.deepEqual(record.decoder, { kind: 'vae', model: models.ids.sd });
  assert.doesNotMatch(textChunks(r.candidates[0]!.png)['parameters']!.text, /VAE:/);
});

test("finalDecoder 'tiny': every final image by the tiny decoder, so recorded (candidate, settings, PNG record and A1111 VAE)", async () => {
  const s = spied();
  const tinyRun = await personalize(s.models, { ...base, finalDecoder: 'tiny' });
  assert.deepEqual(s.tiny, [
    [1, 4, 8, 8],
    [1, 4, 8, 8],
  ]);
  assert.deepEqual(s.vae, []);
  assert.deepEqual(
    tinyRun.candidates.map((c) => c.decoder),
    ['tiny', 'tiny'],
  );
  assert.equal(tinyRun.settings.finalDecoder, 'tiny');
  const record = recordOf(tinyRun.candidates[1]!.png);
  assert.deepEqual(record.decoder, { kind: 'tiny', model: models.ids.decoder });
  assert.match(textChunks(tinyRun.candidates[1]!.png)['parameters']!.text, new RegExp(`, VAE: ${models.ids.decoder!.replace(/[\\/.]/g, '\\$&')}$`));
  const vaeRun = await personalize(models, base);
  assert.notDeepEqual(tinyRun.candidates[0]!.png, vaeRun.candidates[0]!.png);
  assert.deepEqual(
    tinyRun.candidates.map((c) => [c.seed, c.prompt]),
    vaeRun.candidates.map((c) => [c.seed, c.prompt]),
  );
  // The model set's own default applies when the request names none.
  const byDefault = await personalize({ ...models, finalDecoder: 'tiny' }, base);
  assert.deepEqual(
    byDefault.candidates.map((c) => c.png),
    tinyRun.candidates.map((c) => c.png),
  );
});

test('early search: the previews come from the tiny decoder at full size; stopped candidates say so', async () => {
  const s = spied();
  const r = await personalize(s.models, { ...base, weights: [0, 1, 2], search: 'early', width: 128, height: 128 });
  assert.deepEqual(
    s.tiny,
    [
      [1, 4, 16, 16],
      [1, 4, 16, 16],
      [1, 4, 16, 16],
    ],
    'x0 of every candidate, not pooled',
  );
  assert.deepEqual(s.vae, [[1, 4, 16, 16]], 'only the finished candidate goes through the VAE');
  assert.equal(r.settings.previewDecoder, 'tiny');
  assert.equal(r.settings.previewScale, 1);
  assert.equal(r.settings.previewScaleUsed, 1);
  for (const c of r.candidates) assert.equal(c.decoder, c.finished ? 'vae' : 'tiny');
  const stopped = r.candidates.findIndex((c) => !c.finished);
  assert.deepEqual(recordOf(r.candidates[stopped]!.png).decoder?.kind, 'tiny');
  // An explicit preview scale still pools the latents before the tiny decoder.
  s.tiny.length = 0;
  const pooled = await personalize(s.models, { ...base, weights: [0, 1, 2], search: 'early', width: 128, height: 128, previewScale: 2 });
  assert.deepEqual(s.tiny, [
    [1, 4, 8, 8],
    [1, 4, 8, 8],
    [1, 4, 8, 8],
  ]);
  assert.equal(pooled.settings.previewScaleUsed, 2);
  // Without a tiny decoder: the VAE on 2x2-pooled latents, as before.
  const { decoder: _none, ...withoutTiny } = s.models;
  s.vae.length = 0;
  const vaeOnly = await personalize(withoutTiny, { ...base, weights: [0, 1, 2], search: 'early', width: 128, height: 128 });
  assert.deepEqual(s.vae.slice(0, 3), [
    [1, 4, 8, 8],
    [1, 4, 8, 8],
    [1, 4, 8, 8],
  ]);
  assert.equal(vaeOnly.settings.previewDecoder, 'vae');
  assert.equal(vaeOnly.settings.previewScale, 2);
});

test('live previews go to onPreview (tiny decoder), timed apart from the denoising', async () => {
  const previews: StepPreview[] = [];
  const r = await personalize(models, { ...base, onPreview: (p) => void previews.push(p) });
  assert.deepEqual(
    previews.map((p) => [p.stepsDone, p.decoder, p.images.dims.join('x')]),
    [
      [1, 'tiny', '2x3x64x64'],
      [2, 'tiny', '2x3x64x64'],
      [3, 'tiny', '2x3x64x64'],
    ],
  );
  assert.ok(r.timings.preview! >= 0 && r.timings.denoise! > 0);
  assert.equal(r.settings.previewDecoder, 'tiny');
  const every3: number[] = [];
  await personalize(models, { ...base, previewEvery: 3, onPreview: (p) => void every3.push(p.stepsDone) });
  assert.deepEqual(every3, [3]);
  await assert.rejects(personalize(models, { ...base, previewEvery: 0, onPreview: () => undefined }), /previewEvery must be a whole number >= 1, got 0/);
});

test('early search with live previews: the live preview of the early step is the early preview (decoded once)', async () => {
  const s = spied();
  const request: PersonalizeRequest = { ...base, weights: [0, 1, 2], search: 'early' };
  const previews: StepPreview[] = [];
  const withLive = await personalize(s.models, { ...request, onPreview: (p) => void previews.push(p) });
  const early = withLive.settings.earlySteps!;
  assert.deepEqual(
    previews.map((p) => [p.step, p.candidates.length]),
    [[early - 1, 3], ...previews.slice(1).map((p) => [p.step, 1])],
    'all three at the early step, then the kept one',
  );
  assert.equal(s.tiny.length, 3 + previews.length - 1, 'one tiny decode per candidate and live preview, none again for the early choice');
  const plain = await personalize(models, request);
  assert.deepEqual(
    withLive.candidates.map((c) => [c.dp, c.dt, c.finished, c.png]),
    plain.candidates.map((c) => [c.dp, c.dt, c.finished, c.png]),
  );
});

test("finalDecoder 'tiny' without a tiny decoder, or an unknown decoder, is refused before any model runs", async () => {
  const { decoder: _none, ...withoutTiny } = models;
  // Without given keywords: the LLM would run first, but the decoder choice is checked before.
  const { keywords: _keywords, ...needsLlm } = base;
  const llm = Object.assign(Object.create(models.llm) as typeof models.llm, { generate: () => Promise.reject(new Error('the LLM ran')) });
  await assert.rejects(
    personalize({ ...withoutTiny, llm }, { ...needsLlm, finalDecoder: 'tiny' }),
    (error: unknown) => error instanceof PmgError && error.code === 'invalid-argument' && /needs a tiny autoencoder decoder/.test(error.message),
  );
  await assert.rejects(personalize({ ...models, llm }, needsLlm), /the LLM ran/, 'the spy LLM is the one called');
  await assert.rejects(personalize(models, { ...base, finalDecoder: 'taesd' as never }), /finalDecoder must be vae or tiny, got 'taesd'/);
  await assert.rejects(
    personalize(models, { ...base, finalDecoder: 3 as never }),
    (error: unknown) => error instanceof PmgError && error.details.field === 'finalDecoder',
  );
});

test("the model set picks its decoder: the preset, a folder's taesd/ (previews), --decoder (final), none", () => {
  const cwd = fixture.root;
  const fast = resolveModelSpecs({ models: 'fast' }, cwd);
  assert.equal(fast.decoder, 'julienkay/taesd');
  assert.equal(fast.decoder, presets.fast.decoder);
  assert.equal(fast.finalDecoder, 'tiny', 'fast decodes its final images with TAESD');
  assert.equal(resolveModelSpecs({}, cwd).finalDecoder, 'tiny', 'fast is the default preset');
  assert.equal(resolveModelSpecs({ models: 'fast', finalDecoder: 'vae' }, cwd).decoder, 'julienkay/taesd', 'kept for previews');
  const paper = resolveModelSpecs({ models: 'paper' }, cwd);
  assert.equal(paper.decoder, undefined);
  assert.equal(paper.finalDecoder, 'vae');
  const withDecoder = resolveModelSpecs({ models: 'paper', decoder: 'me/taesd' }, cwd);
  assert.deepEqual([withDecoder.decoder, withDecoder.finalDecoder], ['me/taesd', 'tiny'], 'asking for a decoder means using it');
  const previewsOnly = resolveModelSpecs({ models: 'paper', decoder: 'me/taesd', finalDecoder: 'vae' }, cwd);
  assert.deepEqual([previewsOnly.decoder, previewsOnly.finalDecoder], ['me/taesd', 'vae']);
  const folder = resolveModelSpecs({ models: 'fx' }, cwd);
  assert.deepEqual([folder.decoder, folder.finalDecoder], [join(cwd, 'fx', 'taesd'), 'vae']);
  const none = resolveModelSpecs({ models: 'fast', decoder: 'none' }, cwd);
  assert.deepEqual([none.decoder, none.finalDecoder], [undefined, 'vae']);
  assert.equal(resolveModelSpecs({ models: 'fx', decoder: 'none' }, cwd).decoder, undefined);
  assert.throws(
    () => resolveModelSpecs({ models: 'paper', finalDecoder: 'tiny' }, cwd),
    /finalDecoder tiny needs a tiny decoder; give decoder \(a folder or hub id, e\.g\. julienkay\/taesd\)$/,
  );
  assert.throws(() => resolveModelSpecs({ models: 'fast', decoder: 'none', finalDecoder: 'tiny' }, cwd), /instead of none$/);
  assert.throws(() => resolveModelSpecs({ models: 'fast', decoder: ' ' }, cwd), /: decoder is empty/);
  assert.throws(() => resolveModelSpecs({ models: 'fast', finalDecoder: 'small' as never }, cwd), /: finalDecoder must be vae or tiny, got 'small'/);
});
