/**
 * The safetensors format (Hugging Face), read and written by the project: an 8-byte little-endian header length N,
 * N bytes of JSON — `{ "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ...,
 * "__metadata__": { "<key>": "<string>" } }` — then the tensors' bytes, little-endian, C order, offsets relative to
 * the end of the header. The reader checks everything a broken or hostile file could get wrong (header size, JSON,
 * dtypes, offsets inside the file, sizes matching the shapes, no overlaps) and says what and where in one line;
 * the writer pads the header with spaces to a multiple of 8, as the reference implementation does.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { PmgError } from '../errors/pmg-error.js';
import { writeFileAtomicSync } from './atomic-write.js';
import { float16ToFloat32 } from './float16.js';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
/** Headers larger than this are refused (the reference implementation's limit is 100 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** The raw little-endian bytes. */
  data: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

function bad(file: string, what: string): never {
  throw new PmgError('invalid-input', `${file} is not a valid safetensors file: ${what}`, { details: { file } });
}

/** Where one tensor's bytes lie in a safetensors file (offsets from the start of the file). */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offset of the tensor's first byte in the file. */
  start: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Size of the whole file in bytes. */
  fileBytes: number;
}

/** Bytes per element of a safetensors dtype. */
export function dtypeBytes(dtype: SafetensorsDtype): number {
  return DTYPE_BYTES[dtype];
}

function openForReading(file: string): number {
  try {
    return openSync(file, 'r');
  } catch (error) {
    throw new PmgError('file-not-found', `safetensors file ${file} does not exist or cannot be read`, { cause: error, details: { file } });
  }
}

/**
 * Read and check a safetensors file's header without reading the tensors' bytes (large files, e.g. an LLM's
 * embedding table, are then read a slice at a time). Every check of `readSafetensors` is made here.
 */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = openForReading(file);
  try {
    return headerOf(fd, file);
  } finally {
    closeSync(fd);
  }
}

function headerOf(fd: number, file: string): SafetensorsHeader {
  const size = fstatSync(fd).size;
  if (size < 8) bad(file, `it has ${size} bytes, fewer than the 8-byte header length`);
  const lengthBytes = Buffer.alloc(8);
  readSync(fd, lengthBytes, 0, 8, 0);
  const headerLength = Number(lengthBytes.readBigUInt64LE(0));
  if (headerLength > MAX_HEADER_BYTES) bad(file, `its header claims ${headerLength} bytes (at most ${MAX_HEADER_BYTES})`);
  if (8 + headerLength > size) bad(file, `its header claims ${headerLength} bytes but the file has ${size} (truncated?)`);
  const headerBytes = Buffer.alloc(headerLength);
  readSync(fd, headerBytes, 0, headerLength, 8);
  let header: unknown;
  try {
    header = JSON.parse(headerBytes.toString('utf8'));
  } catch (error) {
    bad(file, `its header is not JSON (${(error as Error).message.split('\n')[0]})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) bad(file, 'its header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataSize = size - dataStart;
  const metadata: Record<string, string> = {};
  const entries: [string, SafetensorsDtype, number[], number, number][] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(file, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') bad(file, `__metadata__.${k} must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) bad(file, `tensor '${name}' has no description`);
    if (typeof t.dtype !== 'string' || !(t.dtype in DTYPE_BYTES))
      bad(file, `tensor '${name}' has dtype ${JSON.stringify(t.dtype)}; known: ${Object.keys(DTYPE_BYTES).join(', ')}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(file, `tensor '${name}' has shape ${JSON.stringify(t.shape)}`);
    const offsets = t.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      bad(file, `tensor '${name}' has data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataSize) bad(file, `tensor '${name}' ends at byte ${end} of the data, but the data has ${dataSize} bytes (truncated?)`);
    const dtype = t.dtype as SafetensorsDtype;
    const shape = t.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) bad(file, `tensor '${name}' (${dtype} [${shape.join(', ')}]) needs ${expected} bytes but has ${end - begin}`);
    entries.push([name, dtype, shape, begin, end]);
  }
  const sorted = [...entries].sort((a, b) => a[3] - b[3]);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]![3] < sorted[i - 1]![4]) bad(file, `tensors '${sorted[i - 1]![0]}' and '${sorted[i]![0]}' overlap`);
  }
  const map = new Map<string, SafetensorsEntry>();
  for (const [name, dtype, shape, begin, end] of entries) map.set(name, { dtype, shape, start: dataStart + begin, byteLength: end - begin });
  return { entries: map, metadata, fileBytes: size };
}

/** Read and check a whole safetensors file. */
export function readSafetensors(file: string): SafetensorsFile {
  const fd = openForReading(file);
  try {
    const { entries, metadata } = headerOf(fd, file);
    const tensors = new Map<string, SafetensorsTensor>();
    for (const [name, { dtype, shape, start, byteLength }] of entries) {
      const data = new Uint8Array(byteLength);
      if (data.length > 0) readSync(fd, data, 0, data.length, start);
      tensors.set(name, { dtype, shape, data });
    }
    return { tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

/** A tensor's values as float32 (F32, F16, BF16 and F64 are converted; others refused with the tensor's name). */
export function tensorFloats(name: string, tensor: SafetensorsTensor, file = 'safetensors file'): Float32Array {
  const { data, dtype } = tensor;
  const count = data.length / DTYPE_BYTES[dtype];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Float32Array(count);
  if (dtype === 'F32') for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  else if (dtype === 'F64') for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
  else if (dtype === 'F16') {
    const bits = new Uint16Array(count);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true);
    out.set(float16ToFloat32(bits));
  } else if (dtype === 'BF16') {
    const word = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < count; i++) {
      word.setUint32(0, view.getUint16(i * 2, true) << 16, true);
      out[i] = word.getFloat32(0, true);
    }
  } else {
    throw new PmgError('invalid-input', `${file}: tensor '${name}' has dtype ${dtype}; a floating-point tensor (F32, F16, BF16, F64) is needed`, {
      details: { file, tensor: name },
    });
  }
  return out;
}

/** Float32 values as a safetensors F32 tensor. */
export function f32Tensor(values: Float32Array, shape: number[]): SafetensorsTensor {
  if (values.length !== shape.reduce((a, b) => a * b, 1)) throw new PmgError('internal', `${values.length} values do not fill shape [${shape.join(', ')}]`);
  const data = new Uint8Array(values.length * 4);
  const view = new DataView(data.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return { dtype: 'F32', shape: [...shape], data };
}

/**
 * The bytes in front of the tensors' data: the 8-byte length and the JSON header (padded with spaces to a multiple
 * of 8), for tensors laid out one after another in the order given. Writers that stream large tensors write this,
 * then each tensor's bytes.
 */
export function encodeSafetensorsHeader(
  tensors: ReadonlyArray<readonly [string, { dtype: SafetensorsDtype; shape: readonly number[]; byteLength: number }]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new PmgError('invalid-argument', "a tensor cannot be named '__metadata__'");
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  return out;
}

/** Safetensors bytes: tensors in the order given, the header padded with spaces to a multiple of 8. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsTensor> | Record<string, SafetensorsTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const head = encodeSafetensorsHeader(
    list.map(([name, t]) => [name, { dtype: t.dtype, shape: t.shape, byteLength: t.data.length }] as const),
    metadata,
  );
  const out = new Uint8Array(head.length + list.reduce((sum, [, t]) => sum + t.data.length, 0));
  out.set(head, 0);
  let at = head.length;
  for (const [, t] of list) {
    out.set(t.data, at);
    at += t.data.length;
  }
  return out;
}

/** Write a safetensors file atomically (temporary name, then rename). */
export function writeSafetensors(
  file: string,
  tensors: ReadonlyMap<string, SafetensorsTensor> | Record<string, SafetensorsTensor>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomicSync(file, encodeSafetensors(tensors, metadata));
}
