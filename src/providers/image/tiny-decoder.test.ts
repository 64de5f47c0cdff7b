/**
 * Loading a tiny autoencoder decoder: the two accepted layouts (a decoder repo with vae_decoder/, or the
 * vae_decoder folder itself), a hub id through the model store (only the decoder's files are fetched), and the
 * one-line refusals of everything else.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PmgError } from '../../errors/pmg-error.js';
import { writeTinyAutoencoder } from '../../fixtures/tiny-taesd.js';
import { writeTinySd } from '../../fixtures/tiny-sd.js';
import { pullingResolver } from '../model-set.js';
import { ModelStore } from '../../runtime/model-store.js';
import { SessionPool } from '../../runtime/onnx-session.js';
import { HubServer } from '../../testing/hub-server.js';
import { loadTinyDecoder } from './tiny-decoder.js';

let root: string;
let taesd: string;
let server: HubServer;
const pool = new SessionPool({ intraOpThreads: 1 });

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-tiny-decoder-'));
  taesd = writeTinyAutoencoder(join(root, 'taesd'));
  server = await HubServer.start();
  await server.addFolder('julienkay/taesd', taesd);
  server.addRepo('madebyollin/taesd', {
    'config.json': readFileSync(join(taesd, 'vae_decoder', 'config.json'), 'utf8'),
    'diffusion_pytorch_model.safetensors': Buffer.alloc(64),
  });
});
after(async () => {
  await pool.releaseAll();
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

let copies = 0;
/** A copy of the fixture decoder changed by `edit` (given the copy's folder). */
function variant(edit: (dir: string) => void): string {
  const dir = join(root, `v${copies++}`);
  cpSync(taesd, dir, { recursive: true });
  edit(dir);
  return dir;
}

async function refused(spec: string, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(loadTinyDecoder(spec, { pool }), (error: unknown) => {
    assert.ok(error instanceof PmgError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
}

test("both layouts load, with the scaling factor of the decoder's own config (1.0), decoding 8x up", async () => {
  const flat = join(root, 'flat');
  cpSync(join(taesd, 'vae_decoder'), flat, { recursive: true });
  for (const dir of [taesd, flat]) {
    const tiny = await loadTinyDecoder(dir, { pool });
    assert.equal(tiny.id, dir);
    assert.equal(tiny.decoder.scalingFactor, 1);
    assert.equal(tiny.folder, dir === taesd ? join(taesd, 'vae_decoder') : flat);
    const images = await tiny.decoder.decode({ data: new Float32Array(2 * 4 * 3 * 5).fill(0.5), dims: [2, 4, 3, 5] });
    assert.deepEqual(images.dims, [2, 3, 24, 40]);
  }
  const scaled = variant((dir) => {
    const path = join(dir, 'vae_decoder', 'config.json');
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), scaling_factor: 0.5 }));
  });
  assert.equal((await loadTinyDecoder(scaled, { pool })).decoder.scalingFactor, 0.5);
  const noScale = variant((dir) => {
    const path = join(dir, 'vae_decoder', 'config.json');
    const { scaling_factor: _dropped, ...rest } = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify(rest));
  });
  assert.equal((await loadTinyDecoder(noScale, { pool })).decoder.scalingFactor, 1, "diffusers' default");
});

test('other layouts and other models are refused in one line naming the expected layout', async () => {
  await refused(join(root, 'nowhere'), 'model-not-found', /is not a local folder/);
  mkdirSync(join(root, 'empty'));
  await refused(
    join(root, 'empty'),
    'model-layout',
    /has neither vae_decoder\/model\.onnx nor model\.onnx; pmg needs a tiny autoencoder \(TAESD\) exported to ONNX: vae_decoder\/model\.onnx and vae_decoder\/config\.json/,
  );
  const torch = variant((dir) => {
    rmSync(join(dir, 'vae_decoder'), { recursive: true });
    writeFileSync(join(dir, 'diffusion_pytorch_model.safetensors'), '');
  });
  await refused(torch, 'model-layout', /holds PyTorch weights \(diffusion_pytorch_model\.safetensors\), not ONNX/);
  await refused(
    variant((dir) => rmSync(join(dir, 'vae_decoder', 'config.json'))),
    'model-file-missing',
    /lacks .*vae_decoder[\\/]config\.json \(its class and scaling factor\)/,
  );
  const sd = writeTinySd(join(root, 'sd'));
  await refused(sd, 'model-layout', /describes a full VAE \(AutoencoderKL\), not a tiny autoencoder/);
  const edit = (patch: Record<string, unknown>) =>
    variant((dir) => {
      const path = join(dir, 'vae_decoder', 'config.json');
      writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), ...patch }));
    });
  await refused(edit({ _class_name: 'Something' }), 'model-layout', /"_class_name" "Something", expected "AutoencoderTiny"/);
  await refused(edit({ latent_channels: 16 }), 'model-layout', /"latent_channels" 16; Stable Diffusion 1\.x\/2\.x latents have 4/);
  await refused(edit({ scaling_factor: 0 }), 'model-layout', /"scaling_factor" 0; expected a number > 0/);
  await refused(
    variant((dir) => writeFileSync(join(dir, 'vae_decoder', 'config.json'), '{ "_class_name": ')),
    'invalid-input',
    /config\.json/,
  );
  // An ONNX model whose input is not latent_sample: the session check names the inputs it has.
  const other = variant((dir) => cpSync(join(sd, 'unet', 'model.onnx'), join(dir, 'vae_decoder', 'model.onnx')));
  await refused(
    other,
    'model-layout',
    /tiny decoder .* does not have the expected inputs latent_sample \(it has inputs sample, timestep, encoder_hidden_states/,
  );
});

test('a hub id is pulled through the model store: only the decoder files, then from the cache offline', async () => {
  const cache = join(root, 'cache');
  const online = new ModelStore({ cacheDir: cache, endpoint: server.url, offline: false, retries: 0, retryDelayMs: 1, timeoutMs: 5000 });
  const tiny = await loadTinyDecoder('julienkay/taesd', { pool, resolve: pullingResolver(online) });
  assert.match(tiny.id, /^julienkay\/taesd@[0-9a-f]{40}$/);
  assert.equal(tiny.decoder.scalingFactor, 1);
  const fetched = server.requests
    .filter((r) => r.route === 'resolve' && r.repo === 'julienkay/taesd')
    .map((r) => r.file)
    .sort();
  assert.deepEqual(fetched, ['vae_decoder/config.json', 'vae_decoder/model.onnx']);
  const offline = new ModelStore({ cacheDir: cache, endpoint: server.url, offline: true });
  assert.equal((await loadTinyDecoder('julienkay/taesd', { pool, resolve: pullingResolver(offline) })).id, tiny.id);
  await assert.rejects(
    loadTinyDecoder('someone/taesd', { pool, resolve: pullingResolver(offline) }),
    (error: unknown) => error instanceof PmgError && error.code === 'offline' && /pmg models pull someone\/taesd/.test(error.message),
  );
  // The PyTorch repo: its config.json comes, its weights do not (not in the decoder's files), and it is refused.
  await assert.rejects(
    loadTinyDecoder('madebyollin/taesd', { pool, resolve: pullingResolver(online) }),
    /has a config\.json but no ONNX model at vae_decoder\/model\.onnx or model\.onnx \(a PyTorch repo such as madebyollin\/taesd looks like this\)/,
  );
  assert.ok(!server.requests.some((r) => r.file?.endsWith('.safetensors')), 'PyTorch weights are never downloaded');
});
