import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCausalLm } from './transformers-causal-lm.js';
import { loadTokenizer } from './transformers-loading.js';
import { loadClip } from './transformers-models.js';
import { writeTinyClip } from '../fixtures/tiny-clip.js';
import { writeTinyLlm } from '../fixtures/tiny-llm.js';
import { PmgError } from '../errors/pmg-error.js';

const isCode = (code: string, pattern: RegExp) => (error: unknown) => error instanceof PmgError && error.code === code && pattern.test(error.message);

test('a missing folder or file is a clear PmgError naming the folder and the file', async () => {
  const root = await mkdtemp(join(tmpdir(), 'pmg-loaders-'));
  try {
    await assert.rejects(loadTokenizer(join(root, 'nothing')), isCode('model-not-found', /nothing does not exist/));
    await writeTinyLlm(join(root, 'llm'));
    await unlink(join(root, 'llm', 'onnx', 'model.onnx'));
    await assert.rejects(loadCausalLm(join(root, 'llm')), isCode('model-file-missing', /llm lacks onnx\/model\.onnx/));
    await assert.rejects(loadCausalLm(join(root, 'llm'), { dtype: 'q8' }), isCode('model-file-missing', /onnx\/model_quantized\.onnx/));
    await writeTinyClip(join(root, 'clip'));
    await unlink(join(root, 'clip', 'preprocessor_config.json'));
    await assert.rejects(loadClip(join(root, 'clip')), isCode('model-file-missing', /clip lacks preprocessor_config\.json/));
    await assert.rejects(loadClip(join(root, 'clip'), { batchSize: 0 }), isCode('invalid-argument', /batchSize/));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('CLIP batches: results do not depend on the batch size', async () => {
  const root = await mkdtemp(join(tmpdir(), 'pmg-loaders-'));
  try {
    await writeTinyClip(join(root, 'clip'));
    const texts = ['a', 'red dress', 'movie poster, noir', 'cute cat'];
    const whole = await (await loadClip(join(root, 'clip'))).embedTexts(texts);
    const small = await (await loadClip(join(root, 'clip'), { batchSize: 3 })).embedTexts(texts);
    assert.equal(small.length, 4);
    for (let i = 0; i < 4; i++) for (let j = 0; j < whole[i]!.length; j++) assert.ok(Math.abs(whole[i]![j]! - small[i]![j]!) < 1e-4);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
