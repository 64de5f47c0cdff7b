/**
 * Stable Diffusion exports without tokenizer/ or scheduler/: the base tokenizer comes through the model store
 * (a loopback hub serves the fixture's tokenizer under the base ids), the scheduler from a built-in config.
 * The two resolvers pmg uses (txt2img's and the model set's) are both exercised here.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { storeResolver } from '../../cli/commands/txt2img.js';
import { PmgError } from '../../errors/pmg-error.js';
import { writeTinySd } from '../../fixtures/tiny-sd.js';
import { pullingResolver } from '../model-set.js';
import { textToImage } from '../../pipeline/text-to-image.js';
import { ModelStore } from '../../runtime/model-store.js';
import { SessionPool } from '../../runtime/onnx-session.js';
import type { FloatTensor } from '../../spec/tensor.js';
import { HubServer } from '../../testing/hub-server.js';
import { loadStableDiffusion, type LoadStableDiffusionOptions, type OnnxStableDiffusion } from './onnx-stable-diffusion.js';
import { SD1_BASE_TOKENIZER, SD2_BASE_TOKENIZER } from './sd-fallbacks.js';

let root: string;
let server: HubServer;
const pool = new SessionPool({ intraOpThreads: 1 });
const sd1 = () => join(root, 'sd1');
const sd2 = () => join(root, 'sd2');

/** A copy of `source` without the given top-level folders. */
function without(source: string, name: string, ...folders: string[]): string {
  const dir = join(root, name);
  cpSync(source, dir, { recursive: true });
  for (const folder of folders) rmSync(join(dir, folder), { recursive: true, force: true });
  return dir;
}

function store(cache: string, offline = false): ModelStore {
  return new ModelStore({ cacheDir: join(root, cache), endpoint: server.url, offline, retries: 0, retryDelayMs: 1, timeoutMs: 5000 });
}

async function load(spec: string, options: LoadStableDiffusionOptions = {}): Promise<{ model: OnnxStableDiffusion; warnings: string[] }> {
  const warnings: string[] = [];
  const model = await loadStableDiffusion(spec, { pool, warn: (m) => warnings.push(m), ...options });
  return { model, warnings };
}

const request = { candidates: [{ prompt: 'movie poster, dark noir city', negativePrompt: 'blurry' }], steps: 2, width: 64, height: 64, seed: 5 };

async function images(model: OnnxStableDiffusion, scheduler?: string): Promise<FloatTensor> {
  const warnings: string[] = [];
  const result = await textToImage(model, { ...request, ...(scheduler ? { scheduler } : {}), warn: (m) => warnings.push(m) });
  assert.deepEqual(warnings, [], 'the scheduler config must have no unknown keys');
  return result.images;
}

function sameTensor(a: FloatTensor, b: FloatTensor): void {
  assert.deepEqual(a.dims, b.dims);
  assert.ok(
    Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)),
    'images differ',
  );
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PmgError, `expected a PmgError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-sd-fallback-'));
  writeTinySd(sd1());
  writeTinySd(sd2(), { variant: 'sd2', timestepType: 'float32' });
  server = await HubServer.start();
  // The fixture's tokenizer stands in for the real base tokenizers, in their repos' layouts.
  await server.addFolder(SD1_BASE_TOKENIZER, join(sd1(), 'tokenizer'));
  const sd2Tokenizer: Record<string, Uint8Array> = {};
  for (const name of ['vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json'])
    sd2Tokenizer[`tokenizer/${name}`] = readFileSync(join(sd2(), 'tokenizer', name));
  server.addRepo(SD2_BASE_TOKENIZER, { ...sd2Tokenizer, 'unet/diffusion_pytorch_model.safetensors': Buffer.alloc(64) });
  await server.addFolder('tiny/sd1-no-tokenizer', without(sd1(), 'hub-sd1', 'tokenizer'));
});

after(async () => {
  await pool.releaseAll();
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

describe('tokenizer/ missing', () => {
  test('SD 1.x: the CLIP ViT-L/14 tokenizer comes from the store; same images as with the own tokenizer', async () => {
    const original = await load(sd1());
    const { model, warnings } = await load(without(sd1(), 'sd1-no-tokenizer', 'tokenizer'), { resolve: storeResolver(store('cache-a')) });
    assert.equal(model.family, 'sd1');
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(
      warnings[0]!,
      /sd1-no-tokenizer lacks tokenizer\/vocab\.json and tokenizer\/merges\.txt; using the SD 1\.x base tokenizer of openai\/clip-vit-large-patch14, chosen from the 768-wide text encoder instead$/,
    );
    assert.equal(model.textEncoder.padTokenId, model.textEncoder.eosTokenId, 'SD 1.x pads with the end token');
    sameTensor(await images(model, 'ddim'), await images(original.model, 'ddim'));
    // Only the tokenizer's files were fetched, not a whole repo listing.
    assert.ok(
      server.requests.every((r) => r.route !== 'api'),
      'no repo listing for a base tokenizer',
    );
  });

  test('a hub model without tokenizer/ resolves (optional files) and falls back; the model set resolver fetches only the tokenizer files', async () => {
    const viaStore = await load('tiny/sd1-no-tokenizer', { resolve: storeResolver(store('cache-b')) });
    assert.match(
      viaStore.warnings.join('\n'),
      /^model tiny\/sd1-no-tokenizer lacks tokenizer\/vocab\.json and tokenizer\/merges\.txt; using .*openai\/clip-vit-large-patch14/,
    );
    server.clearRequests();
    const viaPull = await load('tiny/sd1-no-tokenizer', { resolve: pullingResolver(store('cache-c')) });
    assert.match(viaPull.warnings.join('\n'), /using the SD 1\.x base tokenizer of openai\/clip-vit-large-patch14@[0-9a-f]{40}/);
    const fetched = server.requests.filter((r) => r.route === 'resolve' && r.repo === SD1_BASE_TOKENIZER).map((r) => r.file);
    assert.deepEqual(fetched.sort(), ['merges.txt', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.json']);
    assert.ok(!server.requests.some((r) => r.route === 'api' && r.repo === SD1_BASE_TOKENIZER), 'no listing of the base repo');
    sameTensor(await images(viaPull.model, 'ddim'), await images(viaStore.model, 'ddim'));
  });

  test('SD 2.x (1024 wide): stabilityai/stable-diffusion-2-1 tokenizer/ with "!" padding, and a built-in Euler v-prediction scheduler', async () => {
    const original = await load(sd2());
    const { model, warnings } = await load(without(sd2(), 'sd2-bare', 'tokenizer', 'scheduler'), { resolve: storeResolver(store('cache-d')) });
    assert.equal(model.family, 'sd2');
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(
      warnings.join('\n'),
      /sd2-bare lacks scheduler\/scheduler_config\.json; using a built-in SD 2\.x config instead: EulerDiscreteScheduler, prediction_type v_prediction \(unet\/config\.json sample_size 96\)/,
    );
    assert.match(
      warnings.join('\n'),
      /sd2-bare lacks tokenizer\/vocab\.json and tokenizer\/merges\.txt; using the SD 2\.x base tokenizer of stabilityai\/stable-diffusion-2-1 \(tokenizer\/\), chosen from the 1024-wide text encoder instead/,
    );
    assert.equal(model.textEncoder.padTokenId, 0);
    assert.equal(model.predictionType, 'v_prediction');
    assert.deepEqual(
      { ...model.schedulerConfig },
      // stabilityai/stable-diffusion-2's scheduler_config.json, with the spacing diffusers uses for it (Euler's default).
      {
        _class_name: 'EulerDiscreteScheduler',
        beta_start: 0.00085,
        beta_end: 0.012,
        beta_schedule: 'scaled_linear',
        num_train_timesteps: 1000,
        trained_betas: null,
        steps_offset: 1,
        clip_sample: false,
        set_alpha_to_one: false,
        skip_prk_steps: true,
        timestep_spacing: 'linspace',
        interpolation_type: 'linear',
        use_karras_sigmas: false,
        prediction_type: 'v_prediction',
      },
    );
    const ids = [model.textEncoder.tokenize('a cute cat'), original.model.textEncoder.tokenize('a cute cat')];
    assert.deepEqual(ids[0], ids[1]);
    const padded = [model.textEncoder.padTokenId, model.textEncoder.bosTokenId, model.textEncoder.eosTokenId];
    assert.deepEqual(padded, [original.model.textEncoder.padTokenId, original.model.textEncoder.bosTokenId, original.model.textEncoder.eosTokenId]);
    assert.ok(!server.requests.some((r) => r.file?.endsWith('.safetensors')), 'only the tokenizer files of the SD 2.1 repo are fetched');
    const fallbackImages = await images(model);
    assert.ok(fallbackImages.data.every(Number.isFinite));
    sameTensor(await images(model, 'ddim'), await images({ ...original.model, schedulerConfig: model.schedulerConfig } as OnnxStableDiffusion, 'ddim'));
  });

  test('baseTokenizer overrides the base: a local folder with the files under tokenizer/', async () => {
    const own = join(root, 'own-tokenizer');
    mkdirSync(own);
    cpSync(join(sd1(), 'tokenizer'), join(own, 'tokenizer'), { recursive: true });
    const { model, warnings } = await load(without(sd1(), 'sd1-override', 'tokenizer'), { resolve: storeResolver(store('cache-e', true)), baseTokenizer: own });
    assert.equal(model.family, 'sd1');
    assert.match(
      warnings.join('\n'),
      new RegExp(`using the tokenizer given as baseTokenizer, ${own.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(tokenizer/\\) instead`),
    );
  });

  test("offline with the base tokenizer not cached: the store's offline error, naming the repo and the pull command", async () => {
    const dir = without(sd1(), 'sd1-offline', 'tokenizer');
    await rejectsWith(
      load(dir, { resolve: storeResolver(store('cache-empty', true)) }),
      'offline',
      /^offline mode: openai\/clip-vit-large-patch14@main is missing vocab\.json, merges\.txt, tokenizer_config\.json, special_tokens_map\.json in the cache .*; fetch it with 'pmg models pull openai\/clip-vit-large-patch14'/,
    );
    // Once cached, offline works.
    await load(dir, { resolve: storeResolver(store('cache-f')) });
    const { warnings } = await load(dir, { resolve: storeResolver(store('cache-f', true)) });
    assert.match(warnings.join('\n'), /openai\/clip-vit-large-patch14/);
  });

  test('without a model store: a clear error naming the base tokenizer and how to supply one', async () => {
    await rejectsWith(
      load(without(sd1(), 'sd1-no-store', 'tokenizer')),
      'model-not-found',
      /has no tokenizer\/ and its base tokenizer openai\/clip-vit-large-patch14 is not a local folder; .*baseTokenizer/,
    );
  });

  test('a base tokenizer with more tokens than the text encoder is refused', async () => {
    const dir = without(sd1(), 'sd1-small-vocab', 'tokenizer');
    const configPath = join(dir, 'text_encoder', 'config.json');
    writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), vocab_size: 300 }));
    await rejectsWith(
      load(dir, { resolve: storeResolver(store('cache-a', true)) }),
      'model-layout',
      /tokens but model .* text encoder knows 300 \(text_encoder\/config\.json vocab_size\)/,
    );
  });
});

describe('scheduler/ missing', () => {
  test("SD 1.x: built-in PNDM epsilon config, same images as the fixture's own (SD 1.5) config", async () => {
    const original = await load(sd1());
    const { model, warnings } = await load(without(sd1(), 'sd1-no-scheduler', 'scheduler'));
    assert.deepEqual(warnings, [
      'model ' +
        join(root, 'sd1-no-scheduler') +
        ' lacks scheduler/scheduler_config.json; using a built-in SD 1.x config instead: PNDMScheduler, prediction_type epsilon (SD 1.x)',
    ]);
    assert.equal(model.schedulerConfig._class_name, 'PNDMScheduler');
    assert.equal(model.schedulerConfig.skip_prk_steps, true);
    assert.equal(model.schedulerConfig.set_alpha_to_one, false);
    assert.equal(model.predictionType, 'epsilon');
    sameTensor(await images(model), await images(original.model));
  });

  test('SD 2.x prediction type: sample_size 64 gives epsilon; a declared prediction_type wins', async () => {
    const small = without(sd2(), 'sd2-512', 'scheduler');
    const unetConfig = join(small, 'unet', 'config.json');
    const config = JSON.parse(readFileSync(unetConfig, 'utf8'));
    writeFileSync(unetConfig, JSON.stringify({ ...config, sample_size: 64 }));
    const a = await load(small);
    assert.equal(a.model.predictionType, 'epsilon');
    assert.match(a.warnings.join('\n'), /EulerDiscreteScheduler, prediction_type epsilon \(unet\/config\.json sample_size 64\)/);

    const declared = without(sd2(), 'sd2-declared', 'scheduler');
    const index = join(declared, 'model_index.json');
    writeFileSync(index, JSON.stringify({ ...JSON.parse(readFileSync(index, 'utf8')), prediction_type: 'epsilon' }));
    const b = await load(declared);
    assert.equal(b.model.predictionType, 'epsilon');
    assert.match(b.warnings.join('\n'), /prediction_type epsilon \(from model_index\.json\)/);

    const noConfig = without(sd2(), 'sd2-no-unet-config', 'scheduler');
    rmSync(join(noConfig, 'unet', 'config.json'));
    const c = await load(noConfig);
    assert.equal(c.model.predictionType, 'epsilon');
    assert.match(c.warnings.join('\n'), /\(SD 2\.x of unknown sample size\)/);
  });
});

test('text_encoder/, unet/ and vae_decoder/ are still required', async () => {
  for (const part of ['text_encoder', 'unet', 'vae_decoder']) {
    await rejectsWith(load(without(sd1(), `sd1-no-${part}`, part, 'tokenizer', 'scheduler')), 'model-file-missing', new RegExp(`lacks ${part}/model\\.onnx`));
  }
});
