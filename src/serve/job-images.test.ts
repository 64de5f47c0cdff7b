import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { encodePng } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';
import { storeJobImages } from './job-images.js';
import { fetchRemoteImage } from './remote-image.js';
import { sniffImageType, storeImage } from './upload-store.js';

const png = await encodePng({ data: new Uint8Array(4 * 4 * 3).fill(200), width: 4, height: 4 });
const sha = createHash('sha256').update(png).digest('hex');

/** A loopback server answering each path with what `routes` says. */
async function imageServer(routes: Record<string, (res: import('node:http').ServerResponse) => void>): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => (routes[req.url ?? ''] ?? ((r) => r.writeHead(404).end()))(res));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const fieldError = (field: string, pattern: RegExp) => (e: unknown) =>
  e instanceof PmgError && e.code === 'invalid-input' && e.details.field === field && pattern.test(e.message);

test('images are recognised by their bytes, not by what the client says', () => {
  assert.equal(sniffImageType(png), 'image/png');
  assert.equal(sniffImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), 'image/jpeg');
  assert.equal(sniffImageType(Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1')), 'image/webp');
  assert.equal(sniffImageType(Buffer.from('<svg></svg>')), undefined);
});

test('storeImage writes <sha256>.<ext> once and refuses non-images and oversized bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pmg-h-up-'));
  try {
    const path = await storeImage(join(dir, 'uploads'), png, 'body');
    assert.equal(path, join(dir, 'uploads', `${sha}.png`));
    assert.deepEqual(readFileSync(path), png);
    assert.equal(await storeImage(join(dir, 'uploads'), png, 'body'), path);
    assert.deepEqual(readdirSync(join(dir, 'uploads')), [`${sha}.png`]);
    await assert.rejects(storeImage(dir, Buffer.from('hello'), 'body'), fieldError('body', /not a PNG, JPEG or WebP/));
    const big = Buffer.concat([png, Buffer.alloc(8 * 1024 * 1024)]);
    await assert.rejects(storeImage(dir, big, 'history.items[0].image'), fieldError('history.items[0].image', /over the limit/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('data: URLs become upload paths; paths are left for the engine; the body is not changed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pmg-h-up-'));
  try {
    const body = {
      scene: 'movie',
      history: { items: [{ title: 'a', image: `data:image/png;base64,${png.toString('base64')}` }, { title: 'b', image: '/elsewhere/x.png' }, 'odd'] },
      target: { item: { image: `data:image/png;base64,${png.toString('base64')}` } },
    };
    const copy = JSON.parse(JSON.stringify(body));
    const out = (await storeJobImages(body, { uploadsDir: dir, allowRemoteImages: false })) as typeof body;
    assert.deepEqual(body, copy);
    assert.equal((out.history.items[0] as { image: string }).image, join(dir, `${sha}.png`));
    assert.equal((out.history.items[1] as { image: string }).image, '/elsewhere/x.png');
    assert.equal(out.history.items[2], 'odd');
    assert.equal(out.target.item.image, join(dir, `${sha}.png`));
    // A bare target item and a bare history list.
    const bare = (await storeJobImages(
      { history: [{ image: `data:image/png;base64,${png.toString('base64')}` }], target: { image: 'data:text/plain;base64,aGk=' } },
      {
        uploadsDir: dir,
        allowRemoteImages: false,
      },
    ).catch((e: unknown) => e)) as PmgError;
    assert.equal(bare.details.field, 'target.image');
    await assert.rejects(
      storeJobImages({ history: [{ image: 'data:image/png,notbase64' }] }, { uploadsDir: dir, allowRemoteImages: false }),
      fieldError('history.items[0].image', /base64/),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('remote URLs: refused without --allow-remote-images, fetched with it within size, time and type limits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pmg-h-up-'));
  const { url, server } = await imageServer({
    '/a.png': (res) => res.writeHead(200, { 'content-type': 'image/png' }).end(png),
    '/page': (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'),
    '/big': (res) => res.writeHead(200, { 'content-type': 'image/png', 'content-length': '5000' }).end(Buffer.alloc(5000)),
    '/stream': (res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write(Buffer.alloc(3000));
      res.end(Buffer.alloc(3000));
    },
    '/slow': () => undefined,
  });
  try {
    const job = { history: [{ title: 'a', image: `${url}/a.png` }] };
    await assert.rejects(storeJobImages(job, { uploadsDir: dir, allowRemoteImages: false }), fieldError('history.items[0].image', /--allow-remote-images/));
    const out = (await storeJobImages(job, { uploadsDir: dir, allowRemoteImages: true })) as { history: { image: string }[] };
    assert.equal(out.history[0]!.image, join(dir, `${sha}.png`));
    const limits = { maxBytes: 4096, timeoutMs: 300 };
    await assert.rejects(fetchRemoteImage(`${url}/page`, 'f', limits), fieldError('f', /content type is 'text\/html'/));
    await assert.rejects(fetchRemoteImage(`${url}/big`, 'f', limits), fieldError('f', /5000 bytes, over the limit of 4096/));
    await assert.rejects(fetchRemoteImage(`${url}/stream`, 'f', limits), fieldError('f', /over the limit of 4096 bytes/));
    await assert.rejects(fetchRemoteImage(`${url}/missing`, 'f', limits), fieldError('f', /answered 404/));
    const started = Date.now();
    await assert.rejects(fetchRemoteImage(`${url}/slow`, 'f', limits), fieldError('f', /no answer within 0.3 s/));
    assert.ok(Date.now() - started < 3000);
  } finally {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
