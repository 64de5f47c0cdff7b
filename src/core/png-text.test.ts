/**
 * PNG text chunks, read back with an independent chunk walk (Node's zlib.crc32 for the CRCs), and decoded by pngjs
 * (which checks every CRC) and sharp/libvips.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { textChunks, walkPng } from '../testing/png-chunks.js';
import { encodePng } from './image-io.js';
import { crc32, withPngText } from './png-text.js';

const image = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i * 13) };

describe('PNG text chunks', () => {
  it('crc32 equals zlib.crc32', () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
    assert.equal(crc32(bytes), zlibCrc32(bytes));
    assert.equal(crc32(new Uint8Array()), 0);
  });

  it('writes tEXt for Latin-1 and iTXt for other text, right after IHDR, with valid CRCs', async () => {
    const png = await encodePng(image, [
      { keyword: 'parameters', text: 'a cat, café\nSteps: 4' },
      { keyword: 'pmg', text: '{"prompt":"可爱的猫"}' },
    ]);
    const chunks = walkPng(png);
    assert.deepEqual(
      chunks.slice(0, 3).map((c) => c.type),
      ['IHDR', 'tEXt', 'iTXt'],
    );
    assert.ok(
      chunks.every((c) => c.crcOk),
      'every CRC is valid',
    );
    assert.deepEqual(textChunks(png), {
      parameters: { type: 'tEXt', text: 'a cat, café\nSteps: 4' },
      pmg: { type: 'iTXt', text: '{"prompt":"可爱的猫"}' },
    });
  });

  it('leaves the pixels alone: pngjs (CRC-checking) and sharp decode the same image', async () => {
    const png = await encodePng(image, [{ keyword: 'parameters', text: 'x' }]);
    const decoded = PNG.sync.read(png, { checkCRC: true } as never);
    assert.equal(decoded.width, 3);
    const rgb = [...decoded.data].filter((_, i) => i % 4 !== 3);
    assert.deepEqual(rgb, [...image.data]);
    const meta = await sharp(png).metadata();
    assert.equal(meta.width, 3);
    assert.equal(meta.height, 2);
    const raw = await sharp(png).raw().toBuffer();
    assert.deepEqual([...raw], [...image.data]);
  });

  it('without texts the PNG is what sharp wrote', async () => {
    const plain = await encodePng(image);
    assert.deepEqual(
      walkPng(plain).filter((c) => c.type === 'tEXt' || c.type === 'iTXt'),
      [],
    );
  });

  it('refuses a bad keyword or something that is not a PNG', () => {
    assert.throws(() => withPngText(Buffer.from('not a png at all, not at all....'), []), /not a PNG/);
    const png = Buffer.concat([Buffer.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), Buffer.alloc(40)]);
    png.writeUInt32BE(13, 8);
    png.write('IHDR', 12, 'latin1');
    assert.throws(() => withPngText(png, [{ keyword: ' x', text: '' }]), /keyword " x" must be 1-79 Latin-1 characters/);
    assert.throws(() => withPngText(png, [{ keyword: '', text: '' }]), /keyword "" must be/);
  });
});
