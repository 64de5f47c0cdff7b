import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFixtures } from '../fixtures/write-fixtures.js';
import { encodeConditioning } from '../pipeline/conditioning.js';
import { memorySoftCache } from '../soft/soft-cache.js';
import { weightedSoftTokens } from '../soft/soft-embeddings.js';
import { initSoftModule } from '../soft/soft-init.js';
import { readSoftModule, softModuleInMemory, type SoftModule } from '../soft/soft-module.js';
import { countingBody, fixtureLlmBody, otherLlmBody } from '../testing/fixture-llm-body.js';
import type { LlmBody } from '../spec/llm-body.js';
import { fixtureModelSet, type FixtureModelSet } from '../testing/fixture-model-set.js';
import { givenKeywordResult } from '../testing/given-keyword-result.js';
import { movieRequest } from '../testing/movie-inputs.js';
import { candidateConditioning, personalize, planForMethod, checkPersonalizeRequest, type PersonalizeRequest } from './personalize.js';

let fixture: FixtureModelSet;
let soft: SoftModule;
let realBody: LlmBody;
let otherBody: LlmBody;

before(async () => {
  fixture = await fixtureModelSet('pmg-personalize-soft-');
  await writeFixtures(join(fixture.root, 'fx'), { only: ['soft'] });
  soft = readSoftModule(join(fixture.root, 'fx', 'soft'));
  realBody = await fixtureLlmBody(fixture.root);
  otherBody = await otherLlmBody(fixture.root);
});
after(() => fixture?.close());

const keywords = givenKeywordResult(['vintage', 'noir', 'neon'], ['dark', 'space', 'creature']);
const base: PersonalizeRequest = { ...movieRequest(3), keywords };

test('method soft: one candidate, the target part plus N soft tokens (context 77 + 4), recorded in the result', async () => {
  const body = countingBody(realBody);
  const events: string[] = [];
  const told: unknown[] = [];
  const r = await personalize(fixture.models, {
    ...base,
    method: 'soft',
    soft: { module: soft, body },
    onProgress: (e) => {
      events.push(e.stage);
      if (e.soft) told.push(e.soft);
    },
  });
  assert.deepEqual(told, [{ N: 4, cached: false }], 'the soft tokens are told once they are computed');
  assert.equal(r.candidates.length, 1);
  const c = r.candidates[0]!;
  assert.equal(c.prompt, "movie poster, Alien, named 'Alien', dark, space, creature", 'no preference keywords');
  assert.deepEqual(c.weights, { preference: 0, target: 1 });
  assert.equal(c.contextTokens, 77 + 4);
  assert.deepEqual(
    { ...r.soft, prompt: undefined },
    {
      module: soft.source,
      fingerprint: soft.fingerprint,
      P: 4,
      N: 4,
      weight: 1,
      llm: { id: body.id, fingerprint: body.fingerprint },
      template: { name: 'movie-soft', version: '1' },
      prompt: undefined,
      promptTokens: r.soft!.promptTokens,
      cached: false,
    },
  );
  assert.match(r.soft!.prompt, /^### Human: A person watched the following movies: 0\. Heat \(Action, Crime\) 1\. Toy Story/);
  assert.equal(typeof r.timings.soft, 'number');
  assert.ok(events.includes('soft'));
  const plain = await personalize(fixture.models, { ...base, method: 'target-only' });
  assert.equal(plain.candidates[0]!.prompt, c.prompt, 'the same text as target-only');
  assert.equal(plain.candidates[0]!.contextTokens, 77);
  assert.equal(plain.soft, undefined);
  assert.notDeepEqual(plain.candidates[0]!.png, c.png, 'the soft tokens change the image');
});

test('method pmg with a module: every weight gets the same soft tokens, computed once', async () => {
  const body = countingBody(realBody);
  const r = await personalize(fixture.models, { ...base, method: 'pmg', soft: { module: soft, body } });
  assert.deepEqual(
    r.candidates.map((c) => c.weights.preference),
    [1, 2],
  );
  assert.deepEqual(
    r.candidates.map((c) => c.contextTokens),
    [81, 81],
  );
  assert.equal(body.forwardCalls, 1);
  const without = await personalize(fixture.models, { ...base, method: 'pmg' });
  assert.deepEqual(
    without.candidates.map((c) => c.contextTokens),
    [77, 77],
  );
  assert.notDeepEqual(without.candidates[0]!.png, r.candidates[0]!.png);
  assert.equal(without.candidates[0]!.prompt, r.candidates[0]!.prompt);
});

test('w_s scales the soft tokens; a cache makes the second request a hit with the same image', async () => {
  const body = countingBody(realBody);
  const cache = memorySoftCache();
  const one = await personalize(fixture.models, { ...base, method: 'soft', soft: { module: soft, body, cache } });
  const again = await personalize(fixture.models, { ...base, method: 'soft', soft: { module: soft, body, cache } });
  assert.equal(body.forwardCalls, 1);
  assert.equal(again.soft!.cached, true);
  assert.deepEqual(again.candidates[0]!.png, one.candidates[0]!.png);
  const doubled = await personalize(fixture.models, { ...base, method: 'soft', soft: { module: soft, body, cache, weight: 2 } });
  assert.equal(doubled.soft!.weight, 2);
  assert.notDeepEqual(doubled.candidates[0]!.png, one.candidates[0]!.png);
});

test('the conditioning: [target ; preference × w_p ; soft × w_s]; the unconditional half ends with N copies of its own last token', async () => {
  const request: PersonalizeRequest = { ...base, method: 'pmg', mode: 'embed', weights: [1.5] };
  const checked = checkPersonalizeRequest(request);
  const plans = planForMethod(request, checked, keywords);
  const tokens = { data: Float32Array.from({ length: 4 * 768 }, (_, i) => Math.sin(i)), dims: [4, 768] };
  const [encoded] = await encodeConditioning(fixture.models.sd.textEncoder, candidateConditioning(plans, 'embed', weightedSoftTokens(tokens, 0.5)));
  const cond = encoded!.cond;
  const uncond = encoded!.uncond;
  assert.deepEqual(cond.dims, [1, 77 + 77 + 4, 768], 'target window, preference window, soft tokens');
  assert.deepEqual(
    Array.from(cond.data.subarray(154 * 768)),
    Array.from(tokens.data, (v) => Math.fround(v * 0.5)),
  );
  assert.deepEqual(uncond.dims, [1, 154 + 4, 768]);
  const last = Array.from(uncond.data.subarray(153 * 768, 154 * 768));
  for (let n = 0; n < 4; n++) assert.deepEqual(Array.from(uncond.data.subarray((154 + n) * 768, (155 + n) * 768)), last, `copy ${n}`);
});

test('soft requests are checked before any model runs: one line each', async () => {
  const body = countingBody(realBody);
  const fails = async (request: PersonalizeRequest, pattern: RegExp): Promise<void> => {
    await assert.rejects(
      personalize(fixture.models, request),
      (e: unknown) => e instanceof Error && pattern.test(e.message) && !e.message.includes('\n'),
      String(pattern),
    );
  };
  await fails({ ...base, method: 'soft' }, /soft is missing: method 'soft' needs a soft module/);
  await fails(
    { ...base, method: 'keywords', soft: { module: soft, body } },
    /method 'keywords' does not use a soft module; drop the soft module or use method soft or pmg/,
  );
  await fails({ ...base, method: 'soft', soft: { module: soft, body, weight: -1 } }, /soft\.weight must be a number >= 0, got -1/);
  await fails({ ...base, method: 'soft', soft: { module: soft, body: otherBody } }, /made for the LLM weights .*allow an LLM mismatch/);
  const wide = initSoftModule({ body, condWidth: 1024, scene: 'movie', templateVersion: '1' });
  await fails(
    { ...base, method: 'soft', soft: { module: softModuleInMemory(wide.config, wide.tensors, 'wide'), body } },
    /wide maps into 1024-wide text embeddings \(SD 2\.x\), but the generator .*sd has 768-wide ones/,
  );
  await fails({ ...base, scene: 'fashion', method: 'soft', soft: { module: soft, body } }, /made for the movie scene/);
  const warnings: string[] = [];
  const allowed = await personalize(fixture.models, {
    ...base,
    method: 'soft',
    soft: { module: soft, body: otherBody, allowLlmMismatch: true },
    warn: (w) => warnings.push(w),
  });
  assert.equal(allowed.candidates.length, 1);
  assert.match(warnings.join('\n'), /used anyway/);
});
