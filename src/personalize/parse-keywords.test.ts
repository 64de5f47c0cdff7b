import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PmgError } from '../errors/pmg-error.js';
import { parseCharacter, parseKeywords, parseKeywordsJson, parseStickerAnswer } from './parse-keywords.js';
import corpus from './testdata/llm-outputs.json' with { type: 'json' };

interface Case {
  name: string;
  parser: string;
  count?: number;
  raw: string;
  expected?: unknown;
  error?: string;
}

function run(c: Case): unknown {
  switch (c.parser) {
    case 'keywords':
      return parseKeywords(c.raw, c.count ?? 8);
    case 'json':
      return parseKeywordsJson(c.raw, c.count ?? 8);
    case 'sticker':
      return parseStickerAnswer(c.raw);
    case 'character':
      return parseCharacter(c.raw);
    default:
      throw new Error(`unknown parser ${c.parser}`);
  }
}

for (const c of corpus.cases as Case[]) {
  test(`corpus: ${c.name}`, () => {
    if (c.error) {
      assert.throws(
        () => run(c),
        (e: unknown) => e instanceof PmgError && e.code === c.error && (e.details as { raw?: string }).raw === c.raw,
      );
    } else {
      assert.deepEqual(run(c), c.expected);
    }
  });
}

test('the corpus covers every parser and some failures', () => {
  const cases = corpus.cases as Case[];
  for (const p of ['keywords', 'json', 'sticker', 'character'])
    assert.ok(
      cases.some((c) => c.parser === p),
      p,
    );
  assert.ok(cases.filter((c) => c.error).length >= 5);
});

test('a no-output error message is one line and quotes the start of the answer', () => {
  try {
    parseKeywords('I am sorry, I cannot do that.\nReally.', 8);
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof PmgError);
    assert.equal(e.message.includes('\n'), false);
    assert.match(e.message, /I am sorry/);
  }
});
