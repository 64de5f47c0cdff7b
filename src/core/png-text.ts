/**
 * PNG text chunks (PNG specification, 11.3.4): `tEXt` for Latin-1 text, `iTXt` (uncompressed, UTF-8) for anything
 * else — the rule PIL's PngInfo.add_text follows, so tools that read A1111's `parameters` chunk read ours. The chunks
 * go right after IHDR, before the image data.
 */
import { PmgError } from '../errors/pmg-error.js';

export interface PngText {
  /** 1-79 Latin-1 characters, no leading, trailing or double spaces (e.g. `parameters`). */
  keyword: string;
  text: string;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO 3309, the polynomial PNG uses) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const isLatin1 = (text: string): boolean => /^[\u0000-\u00ff]*$/.test(text);

function checkKeyword(keyword: string): void {
  if (!/^[\u0020-\u007e\u00a1-\u00ff]{1,79}$/.test(keyword) || keyword !== keyword.trim() || keyword.includes('  ')) {
    throw new PmgError(
      'invalid-argument',
      `PNG text keyword ${JSON.stringify(keyword)} must be 1-79 Latin-1 characters without leading, trailing or double spaces`,
    );
  }
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** The tEXt or iTXt chunk (length, type, data, CRC) for one keyword. */
export function pngTextChunk({ keyword, text }: PngText): Buffer {
  checkKeyword(keyword);
  if (isLatin1(text) && !text.includes('\u0000'))
    return chunk('tEXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.of(0), Buffer.from(text, 'latin1')]));
  // iTXt: keyword, NUL, compression flag 0, method 0, empty language tag, NUL, empty translated keyword, NUL, UTF-8 text.
  return chunk('iTXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.of(0, 0, 0, 0, 0), Buffer.from(text, 'utf8')]));
}

/** A copy of the PNG `png` with the text chunks inserted after its IHDR chunk. */
export function withPngText(png: Uint8Array, texts: readonly PngText[]): Buffer {
  const bytes = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (bytes.length < 33 || !bytes.subarray(0, 8).equals(SIGNATURE) || bytes.toString('latin1', 12, 16) !== 'IHDR') {
    throw new PmgError('internal', 'cannot add text chunks: the data is not a PNG starting with IHDR');
  }
  const afterIhdr = 8 + 12 + bytes.readUInt32BE(8);
  return Buffer.concat([bytes.subarray(0, afterIhdr), ...texts.map(pngTextChunk), bytes.subarray(afterIhdr)]);
}
