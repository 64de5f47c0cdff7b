import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TextEncoder } from '../spec/diffusion-models.js';
import { chunkCount, encodePrompts, promptWindows, tokenizePrompt } from './prompt-encoding.js';

/** A fake encoder: one token per word (id = word length + 10); the embedding of a position is its id repeated. */
function fakeEncoder(): TextEncoder & { calls: number[][][] } {
  const calls: number[][][] = [];
  return {
    calls,
    hiddenSize: 2,
    maxLength: 77,
    bosTokenId: 1,
    eosTokenId: 2,
    padTokenId: 3,
    tokenize: (text) => text.split(/\s+/).filter(Boolean).map((w) => w.length + 10),
    async encode(ids) {
      calls.push(ids);
      const data = new Float32Array(ids.length * 77 * 2);
      ids.flat().forEach((id, i) => data.fill(id, i * 2, i * 2 + 2));
      return { data, dims: [ids.length, 77, 2] };
    },
  };
}

test('a prompt of 100 tokens becomes 2 windows of 77, each [bos, ..., eos, pad...], with every token kept', () => {
  const encoder = fakeEncoder();
  const text = Array.from({ length: 100 }, (_, i) => 'x'.repeat((i % 7) + 1)).join(' ');
  const tokens = tokenizePrompt(encoder, text);
  assert.equal(chunkCount(encoder, tokens.ids.length), 2);
  const { windows } = promptWindows(encoder, tokens, 2);
  assert.equal(windows.length, 2);
  for (const w of windows) {
    assert.equal(w.length, 77);
    assert.equal(w[0], 1);
  }
  assert.equal(windows[0]![76], 2, 'first window is full: 75 tokens then eos');
  assert.deepEqual([...windows[0]!.slice(1, 76), ...windows[1]!.slice(1, 26)], tokens.ids);
  assert.equal(windows[1]![26], 2);
  assert.equal(windows[1]![27], 3);
});

test('exactly 75 tokens is one chunk; the empty prompt is one chunk', () => {
  const encoder = fakeEncoder();
  assert.equal(chunkCount(encoder, 75), 1);
  assert.equal(chunkCount(encoder, 76), 2);
  assert.equal(chunkCount(encoder, 0), 1);
});

test('prompts of one batch are padded to the same chunk count and encoded in one call', async () => {
  const encoder = fakeEncoder();
  const long = Array.from({ length: 80 }, () => 'word').join(' ');
  const [a, b] = await encodePrompts(encoder, [long, '']);
  assert.deepEqual(a!.dims, [1, 154, 2]);
  assert.deepEqual(b!.dims, [1, 154, 2]);
  assert.equal(encoder.calls.length, 1);
  assert.equal(encoder.calls[0]!.length, 4);
  // The empty prompt's second window is [bos, eos, pad, ...].
  assert.equal(b!.data[77 * 2], 1);
  assert.equal(b!.data[78 * 2], 2);
  assert.equal(b!.data[79 * 2], 3);
});

test('span weights scale only their tokens; start, end and padding keep weight 1', async () => {
  const encoder = fakeEncoder();
  const [t] = await encodePrompts(encoder, [[{ text: 'aa' }, { text: 'bbb cccc', weight: 0.5 }]]);
  const at = (position: number) => t!.data[position * 2];
  assert.equal(at(0), 1); // bos
  assert.equal(at(1), 12); // 'aa'
  assert.equal(at(2), 13 * 0.5);
  assert.equal(at(3), 14 * 0.5);
  assert.equal(at(4), 2); // eos
  assert.equal(at(5), 3); // pad
});

test('too long prompts are refused with the limit in the message', () => {
  const encoder = fakeEncoder();
  assert.throws(() => tokenizePrompt(encoder, 'a'.repeat(100_000)), /100000 characters; the limit is 10000/);
  assert.throws(() => tokenizePrompt(encoder, 'a '.repeat(4000)), /limit is 32 chunks/);
  assert.throws(() => tokenizePrompt(encoder, [{ text: 'a', weight: NaN }]), /weight/);
});
