import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import type { GenerateTextOptions, LanguageModel } from '../spec/language-model.js';
import { extractKeywords } from './extract-keywords.js';
import { memoryKeywordCache, openKeywordCache } from './keyword-cache.js';
import { loadPrompts } from './prompts.js';

/** A scripted LLM: answers by the prompt's ending, like the tiny LLM fixture, and counts calls. */
function scriptedLlm(options: { json?: boolean; answer?: (prompt: string) => string } = {}) {
  const calls: { prompt: string; options?: GenerateTextOptions }[] = [];
  const llm: LanguageModel & { calls: typeof calls } = {
    id: 'fake:scripted',
    supportsJsonSchema: options.json ?? false,
    calls,
    async generate(prompt, opts) {
      calls.push({ prompt, options: opts });
      if (options.answer) return { text: options.answer(prompt), finishReason: 'stop' };
      if (opts?.jsonSchema) return { text: '{"keywords": ["Retro", "neon", "retro"]}', finishReason: 'stop' };
      if (prompt.endsWith('The keywords are:'))
        return { text: ' 1. vintage 2. noir 3. neon 4. retro 5. pastel 6. cinematic 7. minimal 8. dramatic', finishReason: 'stop' };
      if (prompt.endsWith('The character is')) return { text: ' a cute cat.', finishReason: 'stop' };
      if (prompt.endsWith('Emotion:')) return { text: ' happy; Expression: smiling; Posture: waving', finishReason: 'stop' };
      return { text: '', finishReason: 'stop' };
    },
  };
  return llm;
}

const prompts = loadPrompts();
const movies = {
  items: [
    { title: 'Toy Story', genres: ['Animation'] },
    { title: 'Heat', genres: ['Crime'] },
  ],
};

test('movie: preference (8) and target (ask 10, use 5) with the official settings', async () => {
  const llm = scriptedLlm();
  const result = await extractKeywords({ scene: 'movie', history: movies, target: { item: { title: 'Alien', genres: ['Horror'] } }, llm, prompts });
  assert.deepEqual(result.preference, ['vintage', 'noir', 'neon', 'retro', 'pastel', 'cinematic', 'minimal', 'dramatic']);
  assert.deepEqual(result.target, ['vintage', 'noir', 'neon', 'retro', 'pastel']);
  assert.deepEqual(Object.keys(result.prompts), ['preference', 'target']);
  assert.deepEqual(Object.keys(result.raw), ['preference', 'target']);
  assert.match(result.prompts.preference!, /0\. Toy Story \(Animation\) 1\. Heat \(Crime\)/);
  assert.match(result.prompts.target!, /Design a poster for the movie "Alien"\.\nGenres: Horror\.\nDescribe the poster/, 'no synopsis: no Synopsis line');
  assert.doesNotMatch(result.prompts.target!, /Synopsis|not given/);
  assert.match(result.prompts.target!, /in 10 keywords/);
  assert.equal(result.model, 'fake:scripted');
  assert.equal(result.cached, false);
  assert.equal(llm.calls[0]?.options?.maxNewTokens, 100);
  assert.deepEqual(llm.calls[0]?.options?.stop, ['###']);
});

test('a target with a synopsis gets the Synopsis line; an override template without "optional" still says not given', async () => {
  const alien = { item: { title: 'Alien', description: 'A crew meets a creature.' } };
  const result = await extractKeywords({ scene: 'movie', history: movies, target: alien, llm: scriptedLlm(), prompts });
  assert.match(result.prompts.target!, /"Alien"\.\nSynopsis: A crew meets a creature\.\nDescribe/, 'no genres: no Genres line');
  const old = {
    ...prompts['movie-target'],
    optional: undefined,
    text: 'Poster for "{{title}}". Genres: {{genres}}. Synopsis: {{synopsis}} in {{ask}} keywords.\n### Assistant: The keywords are:',
  };
  const legacy = await extractKeywords({
    scene: 'movie',
    history: movies,
    target: { item: { title: 'Alien' } },
    llm: scriptedLlm(),
    prompts: { ...prompts, 'movie-target': old },
  });
  assert.match(legacy.prompts.target!, /Genres: not given\. Synopsis: not given/);
});

test('count caps the preference keywords; no target file means no target keywords', async () => {
  const result = await extractKeywords({ scene: 'fashion', history: { items: [{ title: 'Linen shirt' }] }, llm: scriptedLlm(), prompts, count: 3 });
  assert.deepEqual(result.preference, ['vintage', 'noir', 'neon']);
  assert.deepEqual(result.target, []);
  assert.match(result.prompts.preference!, /Give 3 distinctive keywords that describe this person's fashion interests/);
});

test('sticker: character from the history, emotion/expression/posture from the conversation', async () => {
  const result = await extractKeywords({
    scene: 'sticker',
    history: { items: [{ title: 'cat waving' }, { description: 'cat laughing' }] },
    target: {
      conversation: [
        { speaker: 'A', text: 'I passed!' },
        { speaker: 'B', text: 'Wow' },
      ],
    },
    llm: scriptedLlm(),
    prompts,
  });
  assert.deepEqual(result.preference, ['a cute cat']);
  assert.deepEqual(result.target, ['happy', 'smiling', 'waving']);
  assert.match(result.prompts.target!, /A: I passed!\nB: Wow\n/);
  await assert.rejects(
    extractKeywords({ scene: 'sticker', history: { items: [{ title: 'x' }] }, llm: scriptedLlm(), prompts, variant: 'attribute' }),
    (e: unknown) => e instanceof PmgError && e.code === 'invalid-argument',
  );
});

test('attribute variant: one prompt per attribute, then select N from the union', async () => {
  const llm = scriptedLlm();
  const result = await extractKeywords({ scene: 'fashion', history: { items: [{ title: 'Linen shirt' }] }, llm, prompts, variant: 'attribute', count: 4 });
  assert.equal(llm.calls.length, 6); // colour, material, season, style, elements + select
  assert.deepEqual(Object.keys(result.prompts), [
    'attribute:colour',
    'attribute:material',
    'attribute:season',
    'attribute:style',
    'attribute:elements',
    'preference',
  ]);
  assert.match(result.prompts['attribute:material']!, /preferred material in clothing/);
  assert.match(result.prompts.preference!, /proposed for this person's fashion interests: 1\. vintage 2\. noir 3\. neon\n/);
  assert.deepEqual(result.preference, ['vintage', 'noir', 'neon', 'retro']);
});

test('structured variant uses the JSON schema when supported, else falls back to the text prompt', async () => {
  const json = scriptedLlm({ json: true });
  const a = await extractKeywords({ scene: 'movie', history: movies, llm: json, prompts, variant: 'structured' });
  assert.deepEqual(a.preference, ['retro', 'neon']);
  assert.deepEqual((json.calls[0]?.options?.jsonSchema as { required: string[] }).required, ['keywords']);
  const text = scriptedLlm({ json: false });
  const b = await extractKeywords({ scene: 'movie', history: movies, llm: text, prompts, variant: 'structured' });
  assert.equal(text.calls[0]?.options?.jsonSchema, undefined);
  assert.equal(b.preference.length, 8);
});

test('an unusable answer is a no-output-generated error that keeps the raw text', async () => {
  const llm = scriptedLlm({ answer: () => "I'm sorry, I cannot help." });
  await assert.rejects(extractKeywords({ scene: 'movie', history: movies, llm, prompts }), (e: unknown) => {
    assert.ok(e instanceof PmgError);
    assert.equal(e.code, 'no-output-generated');
    assert.equal(e.details.raw, "I'm sorry, I cannot help.");
    assert.equal(e.details.step, 'preference');
    assert.match(e.message, /^preference prompt \(movie-preference\): /);
    return true;
  });
});

test('a cache hit avoids the LLM call; a failed parse is not cached', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pmg-kwcache-'));
  try {
    const path = join(dir, 'sub', 'keywords.sqlite');
    const target = { item: { title: 'Alien' } };
    const llm = scriptedLlm();
    let cache = openKeywordCache(path);
    const first = await extractKeywords({ scene: 'movie', history: movies, target, llm, prompts, cache });
    cache.close();
    assert.equal(llm.calls.length, 2);
    cache = openKeywordCache(path); // a new process would see the same file
    const second = await extractKeywords({ scene: 'movie', history: movies, target, llm, prompts, cache });
    assert.equal(llm.calls.length, 2, 'no new LLM call');
    assert.equal(second.cached, true);
    assert.deepEqual(second.preference, first.preference);
    assert.deepEqual(second.raw, first.raw);
    // A different count changes the prompt, so it is a miss.
    await extractKeywords({ scene: 'movie', history: movies, llm, prompts, cache, count: 5 });
    assert.equal(llm.calls.length, 3);
    // Another model id is another key.
    const other = { ...scriptedLlm(), id: 'fake:other' };
    const third = await extractKeywords({ scene: 'movie', history: movies, llm: other, prompts, cache });
    assert.equal(third.cached, false);
    cache.close();

    const mem = memoryKeywordCache();
    const bad = scriptedLlm({ answer: () => '' });
    await assert.rejects(extractKeywords({ scene: 'movie', history: movies, llm: bad, prompts, cache: mem }));
    await assert.rejects(extractKeywords({ scene: 'movie', history: movies, llm: bad, prompts, cache: mem }));
    assert.equal(bad.calls.length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
