import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { tinyLlmBodyIdentity, TINY_SOFT_COND_WIDTH } from '../fixtures/tiny-soft.js';
import { loadPrompts } from '../personalize/prompts.js';
import type { LlmBody } from '../spec/llm-body.js';
import { countingBody, fixtureLlmBody } from '../testing/fixture-llm-body.js';
import { linearRows, modulePrefixCache } from './prefix-cache.js';
import { memorySoftCache, openSoftCache, softCacheKey } from './soft-cache.js';
import { computeSoftTokens, fitSoftPrompt, weightedSoftTokens, type SoftTokensInput } from './soft-embeddings.js';
import { checkSoftGenerator, checkSoftLlm, checkSoftScene } from './soft-fit.js';
import { initSoftModule } from './soft-init.js';
import { softModuleInMemory, type SoftModule } from './soft-module.js';

const root = mkdtempSync(join(tmpdir(), 'pmg-soft-embeddings-'));
after(() => rmSync(root, { recursive: true, force: true }));
let realBody: LlmBody;
before(async () => {
  realBody = await fixtureLlmBody(root);
});

const tiny = tinyLlmBodyIdentity();
const prompts = loadPrompts();
function module(seed = 0, P = 4, source = `module-${seed}`): SoftModule {
  const { config, tensors } = initSoftModule({
    body: { id: 'tiny', config: tiny.config, fingerprint: tiny.fingerprint },
    condWidth: TINY_SOFT_COND_WIDTH,
    scene: 'movie',
    templateVersion: '1',
    seed,
    P,
  });
  return softModuleInMemory(config, tensors, source);
}
const history = { items: [{ title: 'Heat (1995)', genres: ['Action'] }, { title: 'Alien (1979)' }] };
const input = (over: Partial<SoftTokensInput> = {}): SoftTokensInput => ({
  scene: 'movie',
  history,
  module: module(),
  body: countingBody(realBody),
  prompts,
  ...over,
});

test('N soft tokens of the generator width, from the scene template filled with the numbered history', async () => {
  const r = await computeSoftTokens(input());
  assert.deepEqual(r.tokens.dims, [4, 768]);
  assert.equal(
    r.prompt,
    '### Human: A person watched the following movies: 0. Heat (1995) (Action) 1. Alien (1979) Please describe his movie interests.\n### Assistant:',
  );
  assert.equal(r.promptTokens, countingBody(realBody).tokenize(r.prompt).length);
  assert.deepEqual(r.template, { name: 'movie-soft', version: '1' });
  assert.equal(r.cached, false);
  assert.ok(r.tokens.data.every(Number.isFinite));
});

test('the tokens depend on the history, the prefix and the multimodal tokens', async () => {
  const base = await computeSoftTokens(input());
  const other = await computeSoftTokens(input({ history: { items: [{ title: 'Toy Story (1995)' }] } }));
  assert.notDeepEqual(Array.from(other.tokens.data), Array.from(base.tokens.data));
  const m = module();
  const noPrefix = softModuleInMemory({ ...m.config, P: 0 }, { ...m.tensors, prefix: new Float32Array(0) });
  assert.notDeepEqual(Array.from((await computeSoftTokens(input({ module: noPrefix }))).tokens.data), Array.from(base.tokens.data), 'the prefix matters');
  const moved = { ...m.tensors, tokens: m.tensors.tokens.map((v) => v + 0.5) };
  assert.notDeepEqual(Array.from((await computeSoftTokens(input({ module: softModuleInMemory(m.config, moved) }))).tokens.data), Array.from(base.tokens.data));
});

test("a multimodal token set to a real token's embedding gives that token's hidden state, mapped", async () => {
  const body = countingBody(realBody);
  const m = module();
  const word = body.tokenize(' neon').slice(1); // without BOS
  const N = word.length;
  const rows = body.embed(word).data;
  const asTokens = softModuleInMemory({ ...m.config, N }, { ...m.tensors, tokens: rows });
  const soft = await computeSoftTokens(input({ body, module: asTokens }));
  // The same text with the word's real ids appended, through the same prefix and body.
  const ids = [...body.tokenize(soft.prompt), ...word];
  const states = await body.forward(body.embed(ids), modulePrefixCache(asTokens));
  const hidden = m.config.hidden;
  const expected = linearRows(states.data.subarray((ids.length - N) * hidden), N, m.tensors.mapWeight, m.tensors.mapBias);
  assert.deepEqual(Array.from(soft.tokens.data), Array.from(expected));
});

test('computed once: the cache returns the same tokens without a forward pass; any key part misses', async () => {
  const body = countingBody(realBody);
  const cache = memorySoftCache();
  const first = await computeSoftTokens(input({ body, cache }));
  const second = await computeSoftTokens(input({ body, cache }));
  assert.equal(body.forwardCalls, 1);
  assert.equal(second.cached, true);
  assert.deepEqual(Array.from(second.tokens.data), Array.from(first.tokens.data));
  await computeSoftTokens(input({ body, cache, module: module(1) }));
  assert.equal(body.forwardCalls, 2, 'another module misses');
  const parts = { llmFingerprint: 'l', moduleFingerprint: 'm', template: 'movie-soft', templateVersion: '1', prompt: 'p' };
  const key = softCacheKey(parts);
  for (const change of [{ llmFingerprint: 'x' }, { moduleFingerprint: 'x' }, { template: 'fashion-soft' }, { templateVersion: '2' }, { prompt: 'q' }]) {
    assert.notEqual(softCacheKey({ ...parts, ...change }), key, JSON.stringify(change));
  }
});

test('the SQLite cache keeps the tokens across opens; a stored value of another size is a miss', async () => {
  const path = join(root, 'cache', 'keywords.sqlite');
  const body = countingBody(realBody);
  let cache = openSoftCache(path);
  const first = await computeSoftTokens(input({ body, cache }));
  cache.close();
  cache = openSoftCache(path);
  const again = await computeSoftTokens(input({ body, cache }));
  assert.equal(again.cached, true);
  assert.deepEqual(Array.from(again.tokens.data), Array.from(first.tokens.data));
  assert.equal(
    cache.get(
      softCacheKey({
        llmFingerprint: body.fingerprint,
        moduleFingerprint: module().fingerprint,
        template: 'movie-soft',
        templateVersion: '1',
        prompt: first.prompt,
      }),
      5,
    ),
    undefined,
  );
  cache.close();
  const junk = join(root, 'junk.sqlite');
  writeFileSync(junk, 'not a database '.repeat(300));
  assert.throws(() => openSoftCache(junk), /cannot open the soft embedding cache .*junk\.sqlite.*turn the cache off/);
});

test("template version other than the module's: a warning; scene other than the module's: an error", async () => {
  const warnings: string[] = [];
  const m = module();
  const older = softModuleInMemory({ ...m.config, template: { name: 'movie-soft', version: '0' } }, m.tensors, 'old-module');
  await computeSoftTokens(input({ module: older, warn: (w) => warnings.push(w) }));
  assert.match(warnings.join('\n'), /old-module was made with movie-soft version 0; this run's template is version 1/);
  await assert.rejects(
    computeSoftTokens(input({ scene: 'fashion' })),
    /module-0 was made for the movie scene \(soft prompt movie-soft\); this run's scene is fashion/,
  );
  await assert.rejects(computeSoftTokens(input({ history: { items: [] } })), /history has no items/);
});

test('fit: another LLM shape or generator width is an error naming both; other weights need --allow-llm-mismatch', () => {
  const m = module();
  const other = { id: 'big-llm', config: { ...tiny.config, hidden: 96, layers: 3 }, fingerprint: 'a'.repeat(64) };
  assert.throws(
    () => checkSoftLlm(m, other),
    (e: unknown) =>
      e instanceof PmgError &&
      /module-0 was made for an LLM with hidden 64, 2 layers, 2 key\/value heads of 16 \(tiny\), but the LLM body big-llm has hidden 96, 3 layers/.test(
        e.message,
      ),
  );
  const retrained = { id: 'tuned-llm', config: tiny.config, fingerprint: 'b'.repeat(64) };
  assert.throws(
    () => checkSoftLlm(m, retrained),
    /made for the LLM weights c065bd0ff2ea… \(tiny\), but the LLM body tuned-llm has the weights bbbbbbbbbbbb…; .*allow an LLM mismatch/,
  );
  const warnings: string[] = [];
  checkSoftLlm(m, retrained, { allowLlmMismatch: true, warn: (w) => warnings.push(w) });
  assert.match(warnings[0]!, /used anyway \(an LLM mismatch is allowed\)/);
  checkSoftLlm(m, countingBody(realBody));
  assert.throws(
    () => checkSoftGenerator(m, 1024, 'sd2-model'),
    /maps into 768-wide text embeddings \(SD 1\.x\), but the generator sd2-model has 1024-wide ones \(SD 2\.x\)/,
  );
  checkSoftGenerator(m, 768, 'sd1-model');
  assert.throws(() => checkSoftScene(m, 'sticker'), /this run's scene is sticker/);
});

test('w_s scales a copy of the tokens', () => {
  const t = { data: Float32Array.of(1, -2, 3), dims: [1, 3] };
  assert.deepEqual(Array.from(weightedSoftTokens(t, 0.5).data), [0.5, -1, 1.5]);
  assert.deepEqual(Array.from(t.data), [1, -2, 3]);
});

test("a history past the LLM body's positions is cut to its most recent items that fit, with a warning; one item too long is an error", async () => {
  const m = module();
  assert.equal(realBody.config.maxPositions, 512, 'the fixture body says its positions (genai_config.json context_length)');
  const long = { items: Array.from({ length: 60 }, (_, i) => ({ title: `Movie number ${i} (19${10 + i})`, genres: ['Drama', 'Comedy'] })) };
  const fitted = await fitSoftPrompt(realBody, m, 'movie', long, prompts);
  assert.ok(fitted.omitted > 0 && fitted.omitted < 60, `omitted ${fitted.omitted}`);
  assert.ok(m.config.P + fitted.ids.length + m.config.N <= 512, 'it fits');
  assert.match(fitted.prompt, /Movie number 59 \(1969\)/, 'the most recent item is kept');
  assert.doesNotMatch(fitted.prompt, /Movie number 0 \(1910\)/, 'the oldest is left out');
  const oneMore = await fitSoftPrompt(realBody, m, 'movie', { items: long.items.slice(fitted.omitted - 1) }, prompts);
  assert.equal(oneMore.omitted, 1, 'one more item would not fit');
  const warnings: string[] = [];
  const r = await computeSoftTokens(input({ history: long, warn: (w) => warnings.push(w) }));
  assert.equal(r.promptTokens, fitted.ids.length);
  assert.match(warnings.join('\n'), new RegExp(`passes the 512 positions of the LLM body .*; the ${fitted.omitted} oldest were left out`));
  const short = await fitSoftPrompt(realBody, m, 'movie', history, prompts);
  assert.equal(short.omitted, 0);
  const small = { ...countingBody(realBody), config: { ...realBody.config, maxPositions: 40 } };
  await assert.rejects(
    fitSoftPrompt(small, m, 'movie', history, prompts),
    /the soft prompt of the last history item alone is \d+ tokens; with the module's 4 prefix positions and 4 tokens it passes the 40 positions/,
  );
});
