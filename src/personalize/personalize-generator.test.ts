import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { PNG } from 'pngjs';
import { PmgError } from '../errors/pmg-error.js';
import { imageGeneratorOf, type ModelSet } from '../providers/model-set.js';
import type { ImageGenerator, ImageGeneratorCapabilities } from '../spec/image-generator.js';
import { fixtureModelSet } from '../testing/fixture-model-set.js';
import { personalize, type PersonalizeRequest } from './personalize.js';

const fixture = await fixtureModelSet('pmg-personalize-generator-');
after(() => fixture.close());
const { models } = fixture;

const request: PersonalizeRequest = {
  scene: 'movie',
  history: { items: [{ title: 'Heat', genres: ['Action'] }] },
  target: { item: { title: 'Alien' } },
  keywords: { scene: 'movie', preference: ['noir'], target: ['space'], prompts: {}, raw: {}, model: 'given', cached: false },
  weights: [0, 1, 2],
  steps: 3,
  width: 64,
  height: 64,
  seed: 2,
};

/** The fixture set's ONNX generator behind other capabilities, counting its batches. */
function pluggedIn(capabilities: Partial<ImageGeneratorCapabilities>): { models: ModelSet; starts: number[] } {
  const inner = imageGeneratorOf(models);
  const starts: number[] = [];
  const generator: ImageGenerator = {
    id: 'stub:remote',
    capabilities: { ...inner.capabilities, ...capabilities },
    start: (settings) => (starts.push(settings.candidates.length), inner.start(settings)),
    close: () => inner.close(),
  };
  return { models: { ...models, generator }, starts };
}

test("a model set's own generator makes the images (personalize/ does not know which) and is named in their records", async () => {
  const plugged = pluggedIn({});
  const ours = await personalize(plugged.models, request);
  const onnx = await personalize(models, request);
  assert.deepEqual(plugged.starts, [3], 'one batch of three candidates');
  const pixels = (png: Uint8Array) => PNG.sync.read(Buffer.from(png)).data;
  assert.deepEqual(
    ours.candidates.map((c) => pixels(c.png)),
    onnx.candidates.map((c) => pixels(c.png)),
  );
  assert.ok(Buffer.from(ours.candidates[0]!.png).includes('stub:remote'), 'the PNG record names the generator');
  assert.ok(!Buffer.from(onnx.candidates[0]!.png).includes('stub:remote'));
});

test('what the generator cannot do is refused in one line naming it, before any work (no LLM call, no batch)', async () => {
  let asked = 0;
  const llm = { ...models.llm, generate: (...args: Parameters<ModelSet['llm']['generate']>) => (asked++, models.llm.generate(...args)) };
  const { keywords: _given, ...withoutKeywords } = request;
  const cases: [Partial<ImageGeneratorCapabilities>, Partial<PersonalizeRequest>, string][] = [
    [{ earlySearch: false }, { search: 'early' }, 'search'],
    [{ conditioning: ['repeat'] }, { mode: 'embed' }, 'mode'],
    [{ latents: false }, { latents: { data: new Float32Array(4 * 8 * 8), dims: [1, 4, 8, 8] } }, 'latents'],
  ];
  for (const [capabilities, change, field] of cases) {
    const plugged = pluggedIn(capabilities);
    await assert.rejects(
      personalize({ ...plugged.models, llm }, { ...withoutKeywords, ...change }),
      (error: unknown) =>
        error instanceof PmgError &&
        error.code === 'invalid-argument' &&
        error.message.startsWith(`${field}: the image generator stub:remote cannot `) &&
        !error.message.includes('\n'),
      field,
    );
    assert.deepEqual(plugged.starts, [], `${field}: no batch`);
  }
  assert.equal(asked, 0, 'the LLM was never asked');
});

test('a generator without live previews runs without them (no error, no preview)', async () => {
  let shown = 0;
  const plugged = pluggedIn({ previews: false });
  const result = await personalize(plugged.models, { ...request, onPreview: () => void shown++ });
  assert.equal(shown, 0);
  assert.equal(result.candidates.length, 3);
  let shownOnnx = 0;
  await personalize(models, { ...request, onPreview: () => void shownOnnx++ });
  assert.ok(shownOnnx > 0, 'the ONNX generator does show them');
});
