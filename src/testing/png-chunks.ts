/**
 * An independent reader of PNG chunks for tests: walks length / type / data / CRC by hand and checks each CRC with
 * Node's zlib.crc32 (not pmg's), and decodes tEXt and uncompressed iTXt chunks.
 */
import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';

export interface Chunk {
  type: string;
  data: Buffer;
  crcOk: boolean;
}

/** Walk a PNG's chunks: length, type, data, CRC (checked with zlib's CRC-32). */
export function walkPng(png: Buffer): Chunk[] {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  const chunks: Chunk[] = [];
  let at = 8;
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    const crc = png.readUInt32BE(at + 8 + length);
    chunks.push({ type, data, crcOk: zlibCrc32(png.subarray(at + 4, at + 8 + length)) === crc });
    at += 12 + length;
  }
  assert.equal(at, png.length, 'chunks end where the file ends');
  return chunks;
}

/** keyword -> text of the tEXt and iTXt chunks (iTXt: uncompressed only, as pmg writes them). */
export function textChunks(png: Buffer): Record<string, { type: string; text: string }> {
  const out: Record<string, { type: string; text: string }> = {};
  for (const c of walkPng(png)) {
    if (c.type === 'tEXt') {
      const nul = c.data.indexOf(0);
      out[c.data.toString('latin1', 0, nul)] = { type: c.type, text: c.data.toString('latin1', nul + 1) };
    } else if (c.type === 'iTXt') {
      const nul = c.data.indexOf(0);
      assert.equal(c.data[nul + 1], 0, 'iTXt uncompressed');
      const language = c.data.indexOf(0, nul + 3);
      const translated = c.data.indexOf(0, language + 1);
      out[c.data.toString('latin1', 0, nul)] = { type: c.type, text: c.data.toString('utf8', translated + 1) };
    }
  }
  return out;
}
