/**
 * Reading float32 arrays from numpy's .npy files (format versions 1.0, 2.0 and 3.0, as np.save writes them):
 * the magic "\x93NUMPY", the version, the header length (2 bytes in 1.0, 4 in 2.0 and 3.0), a Python-dict header
 * ({'descr': '<f4', 'fortran_order': False, 'shape': (1, 4, 64, 64), }; Latin-1 in 1.0/2.0, UTF-8 in 3.0), then
 * the data. Only little-endian float32 ('<f4') in C order is accepted; anything else is refused with one line that
 * names the file and says how to save it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { PmgError } from '../errors/pmg-error.js';

export interface NpyFloat32 {
  data: Float32Array;
  shape: number[];
  /** sha256 (hex) of the whole file. */
  sha256: string;
}

const MAGIC = '\u0093NUMPY';
const SAVE_HINT = "save it with np.save(path, np.ascontiguousarray(a, dtype='<f4'))";

/** Read `path` as a little-endian float32 array in C order. `what` names it in messages (e.g. "latents file x.npy"). */
export function readNpyFloat32(path: string, what = `.npy file ${path}`): NpyFloat32 {
  if (!existsSync(path)) throw new PmgError('file-not-found', `${what} does not exist`, { details: { path } });
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new PmgError('invalid-input', `cannot read ${what}: ${(error as Error).message}`, { cause: error, details: { path } });
  }
  return { ...parseNpyFloat32(bytes, what), sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Parse .npy bytes (see readNpyFloat32). */
export function parseNpyFloat32(bytes: Uint8Array, what: string): { data: Float32Array; shape: number[] } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (message: string): never => {
    throw new PmgError('invalid-input', `${what} ${message}`, { details: { file: what } });
  };
  if (buffer.length < 10 || buffer.toString('latin1', 0, 6) !== MAGIC) bad('is not a numpy .npy file (no \\x93NUMPY magic at its start)');
  const major = buffer[6]!;
  const minor = buffer[7]!;
  if (major < 1 || major > 3) bad(`has .npy format version ${major}.${minor}; pmg reads versions 1.0, 2.0 and 3.0`);
  const start = major === 1 ? 10 : 12;
  if (buffer.length < start) bad('is cut off inside its header');
  const headerLength = major === 1 ? buffer.readUInt16LE(8) : buffer.readUInt32LE(8);
  if (buffer.length < start + headerLength) bad('is cut off inside its header');
  const header = buffer.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLength);

  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    bad(`has a header pmg cannot read (${JSON.stringify(header.trim())}); ${SAVE_HINT}`);
  if (descr !== '<f4') bad(`holds dtype '${descr}'; pmg reads little-endian float32 ('<f4'): ${SAVE_HINT}`);
  if (fortran === 'True') bad(`is in Fortran order; pmg reads C order: ${SAVE_HINT}`);
  const parts = shapeText!
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.some((p) => !/^\d+L?$/.test(p))) bad(`has shape (${shapeText}), which is not a tuple of whole numbers`);
  const shape = parts.map((p) => Number.parseInt(p, 10));
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLength;
  if (buffer.length - dataStart !== count * 4) {
    bad(
      `should hold ${count} float32 values (${count * 4} bytes) for shape [${shape.join(', ')}] after its header, but has ${buffer.length - dataStart} bytes`,
    );
  }
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = buffer.readFloatLE(dataStart + i * 4);
  return { data, shape };
}
