import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { PmgError } from '../errors/pmg-error.js';
import { chunkCount } from '../pipeline/prompt-encoding.js';
import { clipLogit, keywordText, toClipImage } from '../scoring/clip-scorer.js';
import { selectBest, zScore } from '../scoring/selection.js';
import { fixtureModelSet, type FixtureModelSet } from '../testing/fixture-model-set.js';
import { givenKeywordResult } from '../testing/given-keyword-result.js';
import { movieRequest } from '../testing/movie-inputs.js';
import type { KeywordResult } from './extract-keywords.js';
import { resolveModelSpecs, type ModelSet } from '../providers/model-set.js';
import { personalize, type PersonalizeRequest } from './personalize.js';
import { promptStyles } from './prompt-styles.js';
import { presets } from '../providers/presets.js';

let root: string;
let models: ModelSet;
let fixture: FixtureModelSet;

before(async () => {
  fixture = await fixtureModelSet('pmg-personalize-');
  ({ root, models } = fixture);
});
after(() => fixture?.close());

const base: PersonalizeRequest = movieRequest(4);

const givenKeywords = givenKeywordResult(['vintage', 'noir', 'neon'], ['dark', 'space', 'creature']);

test('model set from a fixtures folder: onnx:DIR/llm, DIR/clip, DIR/sd, no preset', () => {
  assert.equal(models.ids.llm, `onnx:${join(root, 'fx', 'llm')}`);
  assert.equal(models.ids.clip, join(root, 'fx', 'clip'));
  assert.equal(models.ids.sd, join(root, 'fx', 'sd'));
  assert.equal(models.preset, undefined);
});

test('presets and overrides resolve without loading anything', () => {
  const fast = resolveModelSpecs({}, root);
  assert.equal(fast.preset?.name, 'fast');
  assert.equal(fast.llm, presets.fast.llm);
  assert.equal(fast.llmDtype, 'q4');
  const paper = resolveModelSpecs({ models: 'paper', sd: './my-sd' }, root);
  assert.equal(paper.sd, './my-sd');
  assert.equal(paper.llmModel, 'meta-llama/Llama-2-7b-chat-hf');
  assert.equal(paper.preset?.guidance, 9);
  const overridden = resolveModelSpecs({ models: 'fx', llm: 'openai:http://127.0.0.1:1/v1', llmModel: 'm' }, root);
  assert.equal(overridden.llm, 'openai:http://127.0.0.1:1/v1');
  assert.equal(overridden.clip, join(root, 'fx', 'clip'));
  assert.throws(() => resolveModelSpecs({ models: 'no-such-thing' }, root), /neither a folder nor a preset/);
});

test('exhaustive: keywords from the tiny LLM, one candidate per weight, same seed, chosen = argmax z', async () => {
  const events: string[] = [];
  const told: unknown[] = [];
  const r = await personalize(models, {
    ...base,
    onProgress: (e) => {
      events.push(e.stage);
      if (e.keywords) told.push(e.keywords);
    },
  });
  assert.deepEqual(told, [{ scene: 'movie', ...r.keywords }], 'the keywords are told once, as soon as they are known');
  assert.deepEqual(r.keywords.preference, ['vintage', 'noir', 'neon', 'retro', 'pastel', 'cinematic', 'minimal', 'dramatic']);
  assert.deepEqual(
    r.candidates.map((c) => c.weights),
    [
      { preference: 1, target: 1 },
      { preference: 2, target: 1 },
    ],
  );
  assert.deepEqual(
    r.candidates.map((c) => c.seed),
    [3, 3],
  );
  assert.ok(r.candidates.every((c) => c.finished));
  assert.match(r.candidates[1]!.prompt, /^movie poster, Alien, named 'Alien', .*vintage.*vintage/);
  for (const c of r.candidates) assert.equal(c.z, zScore(c.dp, c.dt, r.alpha));
  assert.equal(r.chosen, selectBest(r.candidates, r.alpha).chosen);
  assert.notDeepEqual(r.candidates[0]!.png, r.candidates[1]!.png);
  for (const key of ['keywords', 'encode', 'denoise', 'decode', 'score', 'total']) assert.equal(typeof r.timings[key], 'number', key);
  assert.ok(events.includes('keywords') && events.includes('generate') && events.includes('score'));
});

test('exhaustive batched run gives the same images as each candidate alone with the same seed', async () => {
  const request = { ...base, keywords: givenKeywords, weights: [0, 1, 3] };
  const batched = await personalize(models, request);
  for (const [i, w] of request.weights.entries()) {
    const alone = await personalize(models, { ...request, weights: [w] });
    assert.deepEqual(alone.candidates[0]!.png, batched.candidates[i]!.png, `weight ${w}`);
    assert.ok(Math.abs(alone.candidates[0]!.dp - batched.candidates[i]!.dp) < 1e-3);
  }
});

test('exhaustive batched == each alone also when candidates need different numbers of 75-token chunks', async () => {
  const long: KeywordResult = { ...givenKeywords, preference: ['vintage film grain', 'film noir shadows', 'neon city lights', 'retro pastel colors'] };
  const request = { ...base, keywords: long, weights: [1, 3] };
  const batched = await personalize(models, request);
  const chunks = batched.candidates.map((c) => chunkCount(models.sd.textEncoder, models.sd.textEncoder.tokenize(c.prompt).length));
  assert.deepEqual(chunks, [1, 2], 'the candidates need different chunk counts');
  for (const [i, w] of request.weights.entries()) {
    const alone = await personalize(models, { ...request, weights: [w] });
    assert.deepEqual(alone.candidates[0]!.png, batched.candidates[i]!.png, `weight ${w}`);
    assert.equal(alone.candidates[0]!.dp, batched.candidates[i]!.dp);
  }
});

test('embed mode: targetWeight (w_t) scales the target part and is reported; repeat mode refuses it', async () => {
  const plain = await personalize(models, { ...base, keywords: givenKeywords, mode: 'embed', weights: [1] });
  const scaled = await personalize(models, { ...base, keywords: givenKeywords, mode: 'embed', weights: [1], targetWeight: 0.5 });
  assert.deepEqual(scaled.candidates[0]!.weights, { preference: 1, target: 0.5 });
  assert.deepEqual(plain.candidates[0]!.weights, { preference: 1, target: 1 });
  assert.notDeepEqual(scaled.candidates[0]!.png, plain.candidates[0]!.png);
  await assert.rejects(personalize(models, { ...base, keywords: givenKeywords, targetWeight: 2 }), /targetWeight 2 needs mode embed/);
  await assert.rejects(personalize(models, { ...base, keywords: givenKeywords, mode: 'embed', targetWeight: -1 }), />= 0/);
  const one = await personalize(models, { ...base, keywords: givenKeywords, weights: [1], targetWeight: 1 });
  assert.equal(one.candidates[0]!.weights.target, 1);
});

test('early: the x0 preview is decoded from a 2x2-pooled latent (previewScale), then shown at full size', async () => {
  const decoded: number[][] = [];
  const vae = models.sd.vaeDecoder;
  const spy: ModelSet = {
    ...models,
    sd: { ...models.sd, vaeDecoder: { scalingFactor: vae.scalingFactor, decode: (l) => (decoded.push(l.dims), vae.decode(l)) } },
  };
  const request = { ...base, keywords: givenKeywords, weights: [0, 1, 2], search: 'early' as const, width: 128, height: 128 };
  const r = await personalize(spy, request);
  assert.deepEqual(
    decoded.slice(0, 3),
    [
      [1, 4, 8, 8],
      [1, 4, 8, 8],
      [1, 4, 8, 8],
    ],
    'previews: 16x16 latents pooled to 8x8',
  );
  assert.deepEqual(decoded.slice(3), [[1, 4, 16, 16]], 'the finished candidate at full size');
  assert.equal(r.settings.previewScale, 2);
  assert.equal(r.settings.previewScaleUsed, 2);
  const stopped = r.candidates.find((c) => !c.finished)!;
  assert.equal(PNG.sync.read(stopped.png).width, 128);
  // previewScale 1 decodes the previews at full size; 4 would leave a 4x4 latent, so it is lowered to 2.
  decoded.length = 0;
  const full = await personalize(spy, { ...request, previewScale: 1 });
  assert.deepEqual(decoded[0], [1, 4, 16, 16]);
  assert.equal(full.settings.previewScaleUsed, 1);
  const four = await personalize(spy, { ...request, previewScale: 4 });
  assert.equal(four.settings.previewScale, 4);
  assert.equal(four.settings.previewScaleUsed, 2);
  assert.deepEqual(
    four.candidates.map((c) => c.png),
    r.candidates.map((c) => c.png),
  );
  await assert.rejects(personalize(models, { ...request, previewScale: 3 as never }), /previewScale must be 1, 2 or 4, got 3/);
});

test('same seed → identical numbers and PNGs; another seed → other images', async () => {
  const a = await personalize(models, { ...base, keywords: givenKeywords, mode: 'embed' });
  const b = await personalize(models, { ...base, keywords: givenKeywords, mode: 'embed' });
  assert.deepEqual(
    a.candidates.map((c) => [c.dp, c.dt, c.z, c.png]),
    b.candidates.map((c) => [c.dp, c.dt, c.z, c.png]),
  );
  const c = await personalize(models, { ...base, keywords: givenKeywords, mode: 'embed', seed: 4 });
  assert.notDeepEqual(a.candidates[0]!.png, c.candidates[0]!.png);
});

test('embed mode: continuous weights give different conditioning and images', async () => {
  const r = await personalize(models, { ...base, keywords: givenKeywords, mode: 'embed', weights: [0.5, 1.5] });
  assert.deepEqual(
    r.candidates.map((c) => c.weights.preference),
    [0.5, 1.5],
  );
  assert.equal(r.candidates[0]!.prompt, r.candidates[1]!.prompt);
  assert.notDeepEqual(r.candidates[0]!.png, r.candidates[1]!.png);
});

test('early: finishes only earlyKeep candidates, the best previews; the winner is a finished one', async () => {
  const request = { ...base, keywords: givenKeywords, weights: [0, 1, 2, 3], search: 'early' as const, earlyKeep: 2, earlyFraction: 0.5 };
  const r = await personalize(models, request);
  assert.equal(r.candidates.filter((c) => c.finished).length, 2);
  assert.equal(r.settings.earlySteps, Math.round(0.5 * 5)); // the tiny model's PNDM runs 5 timesteps for 4 steps
  assert.ok(r.candidates[r.chosen]!.finished);
  const finished = r.candidates.map((c, i) => [c, i] as const).filter(([c]) => c.finished);
  assert.equal(
    r.chosen,
    finished[
      selectBest(
        finished.map(([c]) => c),
        r.alpha,
      ).chosen
    ]![1],
  );
  // Finished candidates equal the exhaustive run's images (same seed, same steps).
  const exhaustive = await personalize(models, { ...request, search: 'exhaustive' });
  for (const [c, i] of finished) assert.deepEqual(c.png, exhaustive.candidates[i]!.png);
  // An unfinished candidate's image is its preview, not the final image.
  const stopped = r.candidates.findIndex((c) => !c.finished);
  assert.notDeepEqual(r.candidates[stopped]!.png, exhaustive.candidates[stopped]!.png);
});

test('methods: target-only drops the preference part; keywords uses one fixed weight', async () => {
  const only = await personalize(models, { ...base, keywords: givenKeywords, method: 'target-only' });
  assert.equal(only.candidates.length, 1);
  assert.equal(only.candidates[0]!.prompt, "movie poster, Alien, named 'Alien', dark, space, creature");
  assert.deepEqual(only.candidates[0]!.weights, { preference: 0, target: 1 });
  const kw = await personalize(models, { ...base, keywords: givenKeywords, method: 'keywords', fixedWeight: 2 });
  assert.equal(kw.candidates.length, 1);
  assert.equal(kw.candidates[0]!.weights.preference, 2);
  await assert.rejects(personalize(models, { ...base, keywords: givenKeywords, method: 'keywords', weights: [1, 2] }), /only used by method 'pmg'/);
});

test('bad requests are refused before any model runs', async () => {
  await assert.rejects(personalize(models, { ...base, alpha: 1.5 }), /alpha must be a number between 0 and 1/);
  await assert.rejects(personalize(models, { ...base, keywords: givenKeywords, weights: [] }), /the list is empty/);
  await assert.rejects(personalize(models, { ...base, keywords: givenKeywords, weights: [-1] }), />= 0/);
  await assert.rejects(personalize(models, { ...base, search: 'fast' as never }), /: search: unknown strategy 'fast'/);
  await assert.rejects(personalize(models, { ...base, earlyFraction: 1 }), /early fraction/);
  // From JavaScript: wrong types are PmgErrors naming the field, not TypeErrors.
  const fromJs = (request: unknown) => personalize(models, request as PersonalizeRequest);
  await assert.rejects(
    fromJs({ ...base, history: [{ title: 'Heat' }, { title: 1995 }] }),
    (e: unknown) => e instanceof PmgError && e.details.field === 'history.items[1].title',
  );
  await assert.rejects(fromJs({ ...base, target: undefined }), (e: unknown) => e instanceof PmgError && e.details.field === 'target');
});

test('a bare list of items is accepted as the history (as in history files)', async () => {
  const r = await personalize(models, { ...base, history: [{ title: 'Heat' }] as never, keywords: givenKeywords, weights: [1], steps: 1 });
  assert.equal(r.candidates.length, 1);
});

test('d_t is scored against the target part of the prompt as the generator got it, d_p against the preference keywords', async () => {
  const r = await personalize(models, { ...base, keywords: givenKeywords, weights: [1] });
  assert.equal(r.scoring.targetText, "movie poster, Alien, named 'Alien', dark, space, creature");
  assert.equal(r.scoring.preferenceText, 'vintage, noir, neon');
  assert.ok(r.candidates[0]!.prompt.startsWith(r.scoring.targetText));
  const [image] = await models.clip.embedImages([await toClipImage(r.candidates[0]!.png)]);
  const [target, preference, bare] = await models.clip.embedTexts([r.scoring.targetText, r.scoring.preferenceText, keywordText(givenKeywords.target)]);
  assert.ok(Math.abs(clipLogit(image!, target!) - r.candidates[0]!.dt) < 1e-4, 'd_t recomputed from scoring.targetText');
  assert.ok(Math.abs(clipLogit(image!, preference!) - r.candidates[0]!.dp) < 1e-4, 'd_p recomputed from scoring.preferenceText');
  assert.ok(Math.abs(clipLogit(image!, bare!) - r.candidates[0]!.dt) > 1e-3, 'the bare target keywords would give another d_t');
});

test("prompt styles: 'official' uses the authors' negative prompts and sticker prefix; the paper preset picks it", async () => {
  const sticker: PersonalizeRequest = {
    ...base,
    scene: 'sticker',
    keywords: { ...givenKeywords, scene: 'sticker', preference: ['cat'], target: ['happy', 'smile', 'jump'] },
  };
  const official = await personalize(models, { ...sticker, promptStyle: 'official' });
  assert.equal(official.candidates[0]!.prompt, 'a cute emoji, stickers, biaoqing, white background, happy, smile, jump, cat');
  assert.equal(official.candidates[0]!.negative, promptStyles.official.negative.sticker);
  assert.equal(official.scoring.targetText, 'a cute emoji, stickers, biaoqing, white background, happy, smile, jump');
  assert.equal(official.settings.promptStyle, 'official');
  const own = await personalize(models, { ...sticker, steps: 1 });
  assert.equal(own.settings.promptStyle, 'pmg');
  assert.ok(own.candidates[0]!.prompt.startsWith(promptStyles.pmg.stickerPrefix));
  assert.equal(presets.paper.promptStyle, 'official');
  assert.equal(promptStyles.official.negative.movie, 'broken text, unclear, twisted');
  await assert.rejects(personalize(models, { ...sticker, promptStyle: 'fancy' as never }), /unknown prompt style 'fancy'/);
});
