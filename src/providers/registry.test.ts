import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { ModelStore, modelStoreOptionsFromEnv } from '../runtime/model-store.js';
import { createLanguageModel } from './llm/registry.js';
import { loadModelSet } from './model-set.js';
import { splitProviderSpec } from './provider-spec.js';
import { createProvider, providerFor, providerRegistry } from './registry.js';

test('a spec splits into its scheme (lower case) and target; a bare folder, a hub id or a drive letter has none', () => {
  assert.deepEqual(splitProviderSpec(' ONNX:owner/name '), { scheme: 'onnx', target: 'owner/name' });
  assert.deepEqual(splitProviderSpec('openai:http://127.0.0.1:8000/v1#m'), { scheme: 'openai', target: 'http://127.0.0.1:8000/v1#m' });
  assert.deepEqual(splitProviderSpec('./models/sd'), { target: './models/sd' });
  assert.deepEqual(splitProviderSpec('owner/name@main'), { target: 'owner/name@main' });
  assert.deepEqual(splitProviderSpec('C:\\models\\sd'), { target: 'C:\\models\\sd' });
});

test('each kind maps its schemes to a factory; the first scheme is the default', () => {
  assert.deepEqual(
    providerRegistry.llm.map((e) => e.scheme),
    ['onnx', 'openai'],
  );
  assert.equal(providerFor('llm', 'openai:http://127.0.0.1:1/v1').entry.create, createLanguageModel);
  assert.equal(providerFor('image', './fx/sd').entry.scheme, 'onnx');
  assert.equal(providerFor('image', 'onnx:./fx/sd').target, './fx/sd');
  assert.equal(providerFor('captioner', 'owner/name').entry.scheme, 'onnx');
});

test('an unknown scheme is one line naming the field, the kind and the known schemes', () => {
  assert.throws(
    () => providerFor('image', 'invokeai:http://127.0.0.1:9090'),
    (error: unknown) =>
      error instanceof PmgError &&
      error.code === 'invalid-argument' &&
      error.message ===
        "sd: unknown image generator provider 'invokeai:' in 'invokeai:http://127.0.0.1:9090'; use onnx:<folder or repo id> (Stable Diffusion in the diffusers ONNX layout, the default) or a1111:http://host:port (an AUTOMATIC1111 webui server started with --api) or comfyui:http://host:port[#ckpt=<checkpoint>] (a ComfyUI server)" &&
      (error.details as { field?: string }).field === 'sd',
  );
});

test("createProvider runs the factory of the spec's scheme (an openai: LLM is made without a network call)", async () => {
  const llm = await createProvider('llm', 'openai:http://127.0.0.1:9/v1#tiny', {});
  assert.equal(llm.id.includes('tiny'), true, llm.id);
  await assert.rejects(createProvider('image', 'invokeai:http://127.0.0.1:8188', {}), /unknown image generator provider 'invokeai:'/);
  assert.deepEqual(
    providerRegistry.image.map((e) => e.scheme),
    ['onnx', 'a1111', 'comfyui'],
  );
});

test('a model set refuses an image generator scheme it does not know before any model loads', async () => {
  const store = new ModelStore(modelStoreOptionsFromEnv({ PMG_CACHE_DIR: join(tmpdir(), 'pmg-registry-unused') }, { offline: true, cwd: tmpdir() }));
  await assert.rejects(
    loadModelSet({ llm: 'onnx:/no/such/llm', clip: '/no/such/clip', sd: 'invokeai:http://127.0.0.1:8188' }, { store, env: {}, offline: true }),
    (error: unknown) => error instanceof PmgError && error.message.startsWith("sd: unknown image generator provider 'invokeai:'"),
  );
});

test('loadModelSet (local models) refuses a remote generator given as sd, before anything loads or connects', async () => {
  const store = new ModelStore(modelStoreOptionsFromEnv({ PMG_CACHE_DIR: join(tmpdir(), 'pmg-registry-unused') }, { offline: true, cwd: tmpdir() }));
  await assert.rejects(
    loadModelSet({ llm: 'onnx:/no/such/llm', clip: '/no/such/clip', sd: 'a1111:http://127.0.0.1:9' }, { store, env: {}, offline: true }),
    (error: unknown) =>
      error instanceof PmgError &&
      error.message === "sd: 'a1111:http://127.0.0.1:9' is a remote image generator; give it as generator (pmg generate --generator), not as sd",
  );
});
