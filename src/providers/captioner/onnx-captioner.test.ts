import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { TINY_CAPTION, writeTinyCaptioner } from '../../fixtures/tiny-captioner.js';
import { ModelStore } from '../../runtime/model-store.js';
import { captionerFiles, createCaptioner } from './onnx-captioner.js';

describe('onnx captioner on the tiny vit-gpt2-layout fixture', () => {
  let root: string;
  let modelDir: string;
  let store: ModelStore;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'pmg-captioner-'));
    modelDir = join(root, 'captioner');
    await writeTinyCaptioner(modelDir);
    store = new ModelStore({ cacheDir: join(root, 'cache'), endpoint: 'http://127.0.0.1:9', offline: true });
    await sharp({ create: { width: 48, height: 40, channels: 3, background: { r: 220, g: 30, b: 60 } } })
      .png()
      .toFile(join(root, 'red.png'));
    await sharp({ create: { width: 20, height: 64, channels: 3, background: { r: 10, g: 200, b: 90 } } })
      .jpeg()
      .toFile(join(root, 'green.jpg'));
    await writeFile(join(root, 'broken.png'), 'not an image');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes the vit-gpt2 folder layout', () => {
    for (const file of [...captionerFiles.files, 'generation_config.json', 'vocab.json', 'merges.txt']) {
      assert.ok(existsSync(join(modelDir, file)), file);
    }
  });

  it('captions PNG and JPEG files through the real transformers.js encoder-decoder path', async () => {
    const captioner = await createCaptioner(`onnx:${modelDir}`, { store });
    assert.equal(captioner.id, `onnx:${modelDir}`);
    assert.equal(await captioner.caption(join(root, 'red.png')), TINY_CAPTION);
    assert.equal(await captioner.caption(join(root, 'green.jpg')), TINY_CAPTION);
  });

  it('caps the caption length', async () => {
    const captioner = await createCaptioner(modelDir, { store, maxNewTokens: 2 });
    assert.equal(await captioner.caption(join(root, 'red.png')), 'a photo');
    assert.equal(await captioner.caption(join(root, 'red.png'), { maxNewTokens: 3 }), 'a photo of');
  });

  it('names a missing or unreadable image', async () => {
    const captioner = await createCaptioner(modelDir, { store });
    await assert.rejects(captioner.caption(join(root, 'missing.png')), { code: 'file-not-found', message: /missing\.png/ });
    await assert.rejects(captioner.caption(join(root, 'broken.png')), { code: 'invalid-input', message: /broken\.png/ });
    await assert.rejects(captioner.caption('ftp://example.com/a.jpg'), { code: 'unsupported', message: /example\.com/ });
  });

  it('captions an http image fetched from a real loopback server, and refuses it offline', async () => {
    const png = await readFile(join(root, 'red.png'));
    const server = createServer((request, response) => {
      if (request.url === '/red.png') response.writeHead(200, { 'content-type': 'image/png' }).end(png);
      else response.writeHead(404).end();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const captioner = await createCaptioner(modelDir, { store });
      assert.equal(await captioner.caption(`${base}/red.png`), TINY_CAPTION);
      await assert.rejects(captioner.caption(`${base}/missing.png`), { code: 'download-failed', message: /HTTP 404/ });
      const offline = await createCaptioner(modelDir, { store, offline: true });
      await assert.rejects(offline.caption(`${base}/red.png`), { code: 'offline', message: /red\.png/ });
    } finally {
      server.close();
    }
  });

  it('rejects unknown providers, missing folders and uncached repos offline', async () => {
    await assert.rejects(createCaptioner('blip:x', { store }), { code: 'invalid-argument', message: /onnx:/ });
    await assert.rejects(createCaptioner('onnx:', { store }), { code: 'invalid-argument' });
    await assert.rejects(createCaptioner(join(root, 'nope'), { store }), { code: 'file-not-found' });
    await assert.rejects(createCaptioner('onnx:Xenova/vit-gpt2-image-captioning', { store }), { code: 'offline' });
  });
});
