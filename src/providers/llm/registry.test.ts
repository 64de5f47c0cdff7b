import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PmgError } from '../../errors/pmg-error.js';
import { writeTinyLlm } from '../../fixtures/tiny-llm.js';
import { ModelStore } from '../../runtime/model-store.js';
import { startOpenAiServer, type OpenAiTestServer } from '../../testing/openai-server.js';
import { OnnxCausalLanguageModel } from './onnx-causal-lm.js';
import { OpenAiCompatibleLanguageModel } from './openai-compatible.js';
import { createLanguageModel, hasHiddenStates, parseLlmSpec } from './registry.js';
import { cutAtStop, effectiveStopStrings, serverStopStrings } from './stop-strings.js';

describe('parseLlmSpec', () => {
  it('reads onnx:, openai: and bare folders', () => {
    assert.deepEqual(parseLlmSpec('onnx:./models/llm'), { provider: 'onnx', model: './models/llm' });
    assert.deepEqual(parseLlmSpec('HuggingFaceTB/SmolLM2-135M-Instruct'), { provider: 'onnx', model: 'HuggingFaceTB/SmolLM2-135M-Instruct' });
    assert.deepEqual(parseLlmSpec('C:\\models\\llm'), { provider: 'onnx', model: 'C:\\models\\llm' });
    assert.deepEqual(parseLlmSpec('openai:http://127.0.0.1:8080/v1'), { provider: 'openai', baseUrl: 'http://127.0.0.1:8080/v1' });
    assert.deepEqual(parseLlmSpec('openai:http://h/v1#qwen2.5'), { provider: 'openai', baseUrl: 'http://h/v1', model: 'qwen2.5' });
  });

  it('rejects unknown prefixes, naming onnx: and openai:', () => {
    assert.throws(
      () => parseLlmSpec('gguf:model.gguf'),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'invalid-argument');
        assert.match(error.message, /unknown LLM provider 'gguf:'/);
        assert.match(error.message, /onnx:/);
        assert.match(error.message, /openai:/);
        return true;
      },
    );
    assert.throws(() => parseLlmSpec('http://127.0.0.1:8080/v1'), { code: 'invalid-argument', message: /openai:http/ });
    assert.throws(() => parseLlmSpec('  '), { code: 'invalid-argument' });
    assert.throws(() => parseLlmSpec('onnx:'), { code: 'invalid-argument' });
    assert.throws(() => parseLlmSpec('openai:'), { code: 'invalid-argument' });
    assert.throws(() => parseLlmSpec('openai:ftp://x'), { code: 'invalid-argument' });
  });
});

describe('stop strings', () => {
  it('adds ### by default except in JSON mode and cuts at the earliest', () => {
    assert.deepEqual(effectiveStopStrings(undefined, false), ['###']);
    assert.deepEqual(effectiveStopStrings(['\n', '', '###'], false), ['\n', '###']);
    assert.deepEqual(effectiveStopStrings(undefined, true), []);
    assert.deepEqual(cutAtStop('1. a 2. b\n### Human: x', ['Human', '###']), { text: '1. a 2. b\n', stopped: true });
    assert.deepEqual(cutAtStop('1. a', ['###']), { text: '1. a', stopped: false });
  });

  it('a stop string that opens the answer (an echoed turn marker) does not cut it; a later one does', () => {
    assert.deepEqual(cutAtStop('### Assistant: The keywords are: 1. war 2. epic\n### Human: more', ['###']), {
      text: '### Assistant: The keywords are: 1. war 2. epic\n',
      stopped: true,
    });
    assert.deepEqual(cutAtStop('  ###', ['###']), { text: '  ###', stopped: false });
    assert.deepEqual(serverStopStrings(['\n\n', '###']), ['### Human:', '\n\n']);
    assert.deepEqual(serverStopStrings(['\n\n']), ['\n\n']);
    assert.deepEqual(serverStopStrings(['###', '### Human:']), ['### Human:']);
  });
});

describe('createLanguageModel', () => {
  let root: string;
  let server: OpenAiTestServer;
  let store: ModelStore;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'pmg-llm-registry-'));
    await writeTinyLlm(join(root, 'tiny-llm'));
    server = await startOpenAiServer({ script: [{ kind: 'success', content: ' 1. a 2. b' }] });
    store = new ModelStore({ cacheDir: join(root, 'cache'), endpoint: 'http://127.0.0.1:9', offline: true });
  });
  after(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it('PMG_LLM_TIMEOUT sets the openai: request timeout in seconds; a bad value is a clear error', async () => {
    server.setScript([{ kind: 'hang' }]);
    const llm = await createLanguageModel(`openai:${server.baseUrl}#tiny`, { env: { PMG_LLM_TIMEOUT: '0.2' }, retries: 0 });
    const started = Date.now();
    await assert.rejects(
      llm.generate('hi'),
      (e: unknown) => e instanceof PmgError && e.code === 'timeout' && /200 ms/.test(e.message) && /PMG_LLM_TIMEOUT/.test(e.message),
    );
    assert.ok(Date.now() - started < 5000, 'gave up after about 0.2 s, not the 120 s default');
    await assert.rejects(
      createLanguageModel(`openai:${server.baseUrl}#tiny`, { env: { PMG_LLM_TIMEOUT: 'soon' } }),
      /PMG_LLM_TIMEOUT must be a number of seconds > 0, got 'soon'/,
    );
    server.setScript([{ kind: 'success', content: ' 1. a 2. b' }]);
  });

  it('builds a local model from a folder (bare or onnx:) that can read hidden states', async () => {
    const bare = await createLanguageModel(join(root, 'tiny-llm'), { store });
    assert.ok(bare instanceof OnnxCausalLanguageModel);
    assert.ok(hasHiddenStates(bare));
    assert.equal(bare.id, `onnx:${join(root, 'tiny-llm')}`);
    const prefixed = await createLanguageModel(`onnx:${join(root, 'tiny-llm')}`, { store });
    assert.equal((await prefixed.generate('### Assistant: The keywords are:', { maxNewTokens: 2 })).text, ' 1. vintage');
  });

  it('builds an openai: model that calls the server with the key and model name', async () => {
    const llm = await createLanguageModel(`openai:${server.baseUrl}`, { llmModel: 'served', apiKey: 'k1', timeoutMs: 2000 });
    assert.ok(llm instanceof OpenAiCompatibleLanguageModel);
    assert.equal(hasHiddenStates(llm), false);
    assert.equal(llm.id, `openai:${server.baseUrl}#served`);
    assert.equal((await llm.generate('hi')).text, ' 1. a 2. b');
    const request = server.completionRequests.at(-1)!;
    assert.equal((request.body as { model: string }).model, 'served');
    assert.equal(request.headers.authorization, 'Bearer k1');
    const fromHash = await createLanguageModel(`openai:${server.baseUrl}#m2`);
    assert.equal(fromHash.id, `openai:${server.baseUrl}#m2`);
  });

  it('openai: without a model name is a clear error', async () => {
    await assert.rejects(createLanguageModel(`openai:${server.baseUrl}`), { code: 'invalid-argument', message: /^llmModel is missing/ });
  });

  it('a missing folder, an incomplete folder and an uncached repo offline are clear errors', async () => {
    await assert.rejects(createLanguageModel(join(root, 'nope'), { store }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'file-not-found');
      assert.ok(error.message.includes(join(root, 'nope')));
      return true;
    });
    const partial = join(root, 'partial');
    await mkdir(partial);
    await writeFile(join(partial, 'config.json'), '{}');
    await assert.rejects(createLanguageModel(`onnx:${partial}`, { store }), { code: 'model-file-missing', message: /tokenizer\.json/ });
    await assert.rejects(createLanguageModel('onnx:some-owner/some-llm', { store }), { code: 'offline' });
  });
});
