import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TextEncoder } from '../spec/diffusion-models.js';
import { chunkCount, encodePrompts, promptWindows, tokenizePrompt, windowCount } from './prompt-encoding.js';

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
    tokenize: (text) =>
      text
        .split(/\s+/)
        .filter(Boolean)
        .map((w) => w.length + 10),
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

test('prompts of one call are encoded in one call, each with its own chunk count (no padding to the longest)', async () => {
  const encoder = fakeEncoder();
  const long = Array.from({ length: 80 }, () => 'word').join(' ');
  const [a, b] = await encodePrompts(encoder, [long, '']);
  assert.deepEqual(a!.dims, [1, 154, 2]);
  assert.deepEqual(b!.dims, [1, 77, 2], 'the short prompt is not padded to the long one');
  assert.equal(encoder.calls.length, 1);
  assert.equal(encoder.calls[0]!.length, 3);
  // minChunks pads with empty windows [bos, eos, pad, ...].
  const [padded] = await encodePrompts(encoder, [''], { minChunks: 2 });
  assert.deepEqual(padded!.dims, [1, 154, 2]);
  assert.equal(padded!.data[77 * 2], 1);
  assert.equal(padded!.data[78 * 2], 2);
  assert.equal(padded!.data[79 * 2], 3);
  // One minimum per prompt.
  const [x, y] = await encodePrompts(encoder, ['aa', 'bb'], { minChunks: [1, 3] });
  assert.deepEqual([x!.dims[1], y!.dims[1]], [77, 231]);
});

test('spans are encoded separately, each in its own window(s), and the whole span output is scaled', async () => {
  const encoder = fakeEncoder();
  const [t] = await encodePrompts(encoder, [[{ text: 'aa' }, { text: 'bbb cccc', weight: 0.5 }]]);
  assert.deepEqual(t!.dims, [1, 154, 2], 'two spans, one window each');
  assert.deepEqual(encoder.calls[0], [
    [1, 12, 2, ...Array(74).fill(3)],
    [1, 13, 14, 2, ...Array(73).fill(3)],
  ]);
  const at = (position: number) => t!.data[position * 2];
  assert.deepEqual([at(0), at(1), at(2), at(3)], [1, 12, 2, 3]); // span 1: bos, 'aa', eos, pad (weight 1)
  assert.deepEqual([at(77), at(78), at(79), at(80), at(81)], [0.5, 13 * 0.5, 14 * 0.5, 2 * 0.5, 3 * 0.5]); // span 2, all x 0.5
  // A span longer than 75 tokens gets 2 windows; the windows of all spans count towards the limit.
  const long = Array.from({ length: 80 }, () => 'word').join(' ');
  const tokens = tokenizePrompt(encoder, [
    { text: 'aa', weight: 2 },
    { text: long, weight: 3 },
  ]);
  assert.equal(windowCount(encoder, tokens), 3);
  const { windows, windowWeights } = promptWindows(encoder, tokens);
  assert.equal(windows.length, 3);
  assert.deepEqual(windowWeights, [2, 3, 3]);
  assert.equal(windows[1]![76], 2, 'the long span fills its first window');
  assert.throws(
    () =>
      tokenizePrompt(
        encoder,
        Array.from({ length: 33 }, () => ({ text: 'a' })),
      ),
    /33 chunks.*limit is 32 chunks/,
  );
});

test('a plain string is one segment: same windows as before spans existed', () => {
  const encoder = fakeEncoder();
  const tokens = tokenizePrompt(encoder, 'aa bbb');
  assert.equal(tokens.segments.length, 1);
  assert.deepEqual(promptWindows(encoder, tokens, 2).windowWeights, [1, 1]);
});

test('too long prompts are refused with the limit in the message', () => {
  const encoder = fakeEncoder();
  assert.throws(() => tokenizePrompt(encoder, 'a'.repeat(100_000)), /100000 characters; the limit is 10000/);
  assert.throws(() => tokenizePrompt(encoder, 'a '.repeat(4000)), /limit is 32 chunks/);
  assert.throws(() => tokenizePrompt(encoder, [{ text: 'a', weight: NaN }]), /weight/);
});
