import assert from 'node:assert/strict';
import { loadCausalLm } from '../../runtime/transformers-causal-lm.js';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeTinyLlm } from '../../fixtures/tiny-llm.js';
import { OnnxCausalLanguageModel } from './onnx-causal-lm.js';

const keywordPrompt = '### Human: Please give 8 distinctive keywords.\n### Assistant: The keywords are:';
const script = ' 1. vintage 2. noir 3. neon 4. retro 5. pastel 6. cinematic 7. minimal 8. dramatic';

describe('onnx causal LM provider on the tiny LLM fixture (real transformers.js path)', () => {
  let root: string;
  let llm: OnnxCausalLanguageModel;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'pmg-llm-'));
    await writeTinyLlm(join(root, 'tiny-llm'));
    llm = new OnnxCausalLanguageModel({ dir: join(root, 'tiny-llm') });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('greedily continues a raw Vicuna prompt with the script, stopping at eos', async () => {
    const result = await llm.generate(keywordPrompt);
    assert.equal(result.text, script);
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.usage?.completionTokens, 17); // 16 pieces + eos
    assert.ok((result.usage?.promptTokens ?? 0) > 5);
    assert.equal(llm.id, `onnx:${join(root, 'tiny-llm')}`);
    assert.equal(llm.supportsJsonSchema, false);
  });

  it('follows the other scripts (sticker character)', async () => {
    const result = await llm.generate('### Human: Who is it?\n### Assistant: The character is');
    assert.equal(result.text, ' a cute cat.');
  });

  it('respects maxNewTokens and reports length', async () => {
    const result = await llm.generate(keywordPrompt, { maxNewTokens: 5 });
    assert.equal(result.usage?.completionTokens, 5);
    assert.equal(result.finishReason, 'length');
    assert.equal(result.text, ' 1. vintage 2. noir 3.');
  });

  it("never runs past the model's window: generation stops at it, and a prompt that fills it is one line", async () => {
    const lm = await loadCausalLm(join(root, 'tiny-llm'));
    const window = lm.config.max_position_embeddings as number;
    const tokens = (text: string): number => (lm.tokenizer(text) as { input_ids: { size: number } }).input_ids.size;
    // The longest filler whose prompt leaves 3 positions free (before the fix: onnxruntime's Gather failed at 512).
    let words = 0;
    while (tokens('word '.repeat(words + 1) + keywordPrompt) <= window - 3) words++;
    const nearlyFull = 'word '.repeat(words) + keywordPrompt;
    assert.ok(tokens(nearlyFull) > window - 10, `the prompt fills the window (${tokens(nearlyFull)} of ${window})`);
    const result = await llm.generate(nearlyFull, { maxNewTokens: 100 });
    assert.ok((result.usage?.promptTokens ?? 0) + (result.usage?.completionTokens ?? 0) <= window);
    assert.equal(result.finishReason, 'length');
    await assert.rejects(llm.generate('word '.repeat(words + 20) + keywordPrompt), (error: unknown) => {
      assert.equal((error as { code?: string }).code, 'invalid-input');
      assert.match((error as Error).message, new RegExp(`the prompt is \\d+ tokens, and .+ has a window of ${window}; give a shorter history`));
      return true;
    });
  });

  it('cuts at the first stop string and halts generation early', async () => {
    const result = await llm.generate(keywordPrompt, { stop: ['neon', 'noir'] });
    assert.equal(result.text, ' 1. vintage 2. ');
    assert.equal(result.finishReason, 'stop');
    assert.ok((result.usage?.completionTokens ?? 99) <= 5, `generated ${result.usage?.completionTokens} tokens`);
  });

  it('refuses a JSON schema (the local provider has no constrained decoding)', async () => {
    await assert.rejects(llm.generate(keywordPrompt, { jsonSchema: { type: 'object' } }), { code: 'unsupported' });
    await assert.rejects(llm.generate(keywordPrompt, { maxNewTokens: 0 }), { code: 'invalid-argument' });
  });

  it('honours an already-aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(llm.generate(keywordPrompt, { signal: controller.signal }), { code: 'aborted' });
  });

  it('reads last_hidden_state at every position and at chosen positions', async () => {
    const all = await llm.hiddenStates(keywordPrompt);
    const n = all.tokenIds.length;
    assert.equal(all.tokens.length, n);
    assert.equal(all.tokens.at(-1), 'The keywords are:');
    assert.deepEqual(all.lastHiddenState.dims, [n, 64]);
    assert.equal(all.lastHiddenState.data.length, n * 64);
    assert.ok(all.lastHiddenState.data.every(Number.isFinite));
    const picked = await llm.hiddenStates(keywordPrompt, { positions: [-1, 0] });
    assert.deepEqual(picked.positions, [n - 1, 0]);
    assert.deepEqual(picked.lastHiddenState.dims, [2, 64]);
    assert.deepEqual(picked.lastHiddenState.data.subarray(0, 64), all.lastHiddenState.data.subarray((n - 1) * 64, n * 64));
    assert.deepEqual(picked.lastHiddenState.data.subarray(64), all.lastHiddenState.data.subarray(0, 64));
    // Rows differ between positions (the states are not constant).
    assert.notDeepEqual(picked.lastHiddenState.data.subarray(0, 64), picked.lastHiddenState.data.subarray(64));
    await assert.rejects(llm.hiddenStates(keywordPrompt, { positions: [n] }), { code: 'invalid-argument' });
  });

  it('its cache key changes when the weights under the same folder change', async () => {
    const dir = join(root, 'tiny-llm');
    const before = new OnnxCausalLanguageModel({ dir }).cacheKey;
    assert.equal(new OnnxCausalLanguageModel({ dir }).cacheKey, before, 'the same files give the same key');
    assert.ok(before.startsWith(`onnx:${dir}#`));
    const model = join(dir, 'onnx', 'model.onnx');
    await utimes(model, new Date(), new Date(Date.now() + 60_000));
    assert.notEqual(new OnnxCausalLanguageModel({ dir }).cacheKey, before, 'rewritten weights give another key');
  });

  it('loads the model once per process', async () => {
    const other = new OnnxCausalLanguageModel({ dir: join(root, 'tiny-llm') });
    await Promise.all([other.load(), llm.load()]);
    const dir = join(root, 'tiny-llm');
    assert.equal(await loadCausalLm(dir), await loadCausalLm(dir), 'one model object per folder, device and dtype');
  });
});
