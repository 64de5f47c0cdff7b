import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { clipTokenizerFiles } from '../fixtures/tiny-clip-tokenizer.js';
import { ClipTokenizer, truncateKeepingEnd } from './clip-tokenizer.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pmg-clip-tok-'));
  for (const [name, content] of Object.entries(clipTokenizerFiles())) writeFileSync(join(dir, name), content);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const texts = [
  'a cute cat',
  'Movie Poster, named "Toy Story", vintage noir  city at   NIGHT!!',
  "it's a dog's life, we'll see; they're 2024's 42 stars",
  'unknownword xyzzy qwerty',
  'café — naïve façade 日本語 emoji 🐱 tabs\tand\nnewlines',
  '',
  'costume, red silk dress, elegant, summer, casual, cotton, denim, red silk dress, elegant',
];

test('ids match transformers.js AutoTokenizer on the same vocabulary (tokenizer.json)', async () => {
  env.allowRemoteModels = false;
  const reference = await AutoTokenizer.from_pretrained(dir);
  const ours = ClipTokenizer.fromFolder(dir);
  for (const text of texts) {
    const expected = Array.from(reference.encode(text) as number[]);
    const actual = [ours.bosTokenId, ...ours.tokenize(text), ours.eosTokenId];
    assert.deepEqual(actual, expected, `text ${JSON.stringify(text)}`);
  }
});

test('window wraps ids in start/end tokens and pads to 77; pad token comes from the config', () => {
  const ours = ClipTokenizer.fromFolder(dir);
  const window = ours.window(ours.tokenize('a cute cat'));
  assert.equal(window.length, 77);
  assert.equal(window[0], ours.bosTokenId);
  assert.equal(window[4], ours.eosTokenId);
  assert.equal(window[76], ours.padTokenId);
  assert.equal(ours.padTokenId, ours.eosTokenId);
});

test('a text longer than the window keeps [start, first 75 tokens, end]; truncateKeepingEnd leaves short ones alone', () => {
  const ours = ClipTokenizer.fromFolder(dir);
  const ids = ours.tokenize(Array.from({ length: 90 }, () => 'poster').join(' '));
  assert.equal(ids.length, 90);
  const window = ours.window(ids);
  assert.deepEqual(window, [ours.bosTokenId, ...ids.slice(0, 75), ours.eosTokenId]);
  assert.deepEqual(truncateKeepingEnd([1, 2, 3], 77), [1, 2, 3]);
  assert.deepEqual(truncateKeepingEnd([1, 2, 3, 4, 9], 4), [1, 2, 3, 9]);
});

test('known words are single tokens and the cache returns the same ids', () => {
  const ours = ClipTokenizer.fromFolder(dir);
  assert.equal(ours.tokenize('poster').length, 1);
  assert.deepEqual(ours.tokenize('Poster poster'), ours.tokenize('poster poster'));
  assert.ok(ours.tokenize('xyzzy').length > 1);
});

test('a folder without merges.txt names the file', () => {
  const empty = mkdtempSync(join(tmpdir(), 'pmg-clip-tok-empty-'));
  try {
    writeFileSync(join(empty, 'vocab.json'), clipTokenizerFiles()['vocab.json']);
    assert.throws(() => ClipTokenizer.fromFolder(empty), /merges\.txt/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
