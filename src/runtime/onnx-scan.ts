/**
 * What dtypes an ONNX file holds, read without loading it: a protobuf walk over the file in 64 KB reads that looks
 * at the graph's inputs, outputs and the header of each initializer (its data_type) and skips every payload. A
 * 1.7 GB UNet is scanned in milliseconds, so loaders can ask "is this graph fp16?" on every run.
 *
 * Wire format (protobuf): each field is a varint key (field number << 3 | wire type) and a value: varint (0),
 * 8 bytes (1), a varint length and that many bytes (2), or 4 bytes (5). ModelProto.graph is field 7; in GraphProto
 * initializer is 5, input 11, output 12; in TensorProto data_type is 2 (written after dims, field 1).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { PmgError } from '../errors/pmg-error.js';

const { onnx } = onnxProto;

/** ONNX TensorProto.DataType codes used here. */
export const ONNX_FLOAT = 1;
export const ONNX_FLOAT16 = 10;

export interface OnnxDtypeSummary {
  /** Element types of the graph inputs and outputs (ONNX codes). */
  ioTypes: number[];
  /** Initializer count per data type (ONNX codes). */
  initializerTypes: Map<number, number>;
}

class FileCursor {
  private readonly buffer = Buffer.alloc(64 * 1024);
  private start = 0;
  private filled = 0;
  readonly size: number;

  constructor(private readonly fd: number) {
    this.size = fstatSync(fd).size;
  }

  /** `count` bytes at `at` (count <= 64 KB). */
  bytes(at: number, count: number): Buffer {
    if (at < this.start || at + count > this.start + this.filled) {
      this.start = at;
      this.filled = readSync(this.fd, this.buffer, 0, this.buffer.length, at);
    }
    const offset = at - this.start;
    return this.buffer.subarray(offset, Math.min(offset + count, this.filled));
  }

  /** A varint at `at`: its value and the offset after it. */
  varint(at: number): [number, number] {
    const bytes = this.bytes(at, 10);
    let value = 0;
    let scale = 1;
    for (let i = 0; i < bytes.length; i++) {
      value += (bytes[i]! & 0x7f) * scale;
      if ((bytes[i]! & 0x80) === 0) return [value, at + i + 1];
      scale *= 128;
    }
    throw new Error(`truncated varint at byte ${at}`);
  }
}

/** Fields of one message between `from` and `to`: number, wire type, value start, value end (varints: start only). */
function* fields(cursor: FileCursor, from: number, to: number): Generator<{ field: number; wire: number; start: number; end: number }> {
  let at = from;
  while (at < to) {
    const [key, afterKey] = cursor.varint(at);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    let start = afterKey;
    let end: number;
    if (wire === 0) end = cursor.varint(afterKey)[1];
    else if (wire === 1) end = afterKey + 8;
    else if (wire === 5) end = afterKey + 4;
    else if (wire === 2) {
      const [length, afterLength] = cursor.varint(afterKey);
      start = afterLength;
      end = afterLength + length;
    } else throw new Error(`unsupported wire type ${wire} at byte ${at}`);
    if (end > to) throw new Error(`field ${field} at byte ${at} runs past its message`);
    yield { field, wire, start, end };
    at = end;
  }
}

/** The dtypes of an ONNX file's inputs, outputs and initializers; a file that is not ONNX is a one-line error. */
export function scanOnnxDtypes(path: string): OnnxDtypeSummary {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new PmgError('model-file-missing', `cannot read ONNX file ${path}: ${(error as Error).message}`, { cause: error, details: { path } });
  }
  try {
    const cursor = new FileCursor(fd);
    const summary: OnnxDtypeSummary = { ioTypes: [], initializerTypes: new Map() };
    const graph = [...fields(cursor, 0, cursor.size)].find((f) => f.field === 7 && f.wire === 2);
    if (!graph) throw new Error('no graph');
    for (const f of fields(cursor, graph.start, graph.end)) {
      if (f.wire !== 2) continue;
      if (f.field === 5) {
        const type = initializerType(cursor, f.start, f.end);
        summary.initializerTypes.set(type, (summary.initializerTypes.get(type) ?? 0) + 1);
      } else if ((f.field === 11 || f.field === 12) && f.end - f.start <= 64 * 1024) {
        const info = onnx.ValueInfoProto.decode(cursor.bytes(f.start, f.end - f.start));
        const type = info.type?.tensorType?.elemType;
        if (typeof type === 'number') summary.ioTypes.push(type);
      }
    }
    return summary;
  } catch (error) {
    if (error instanceof PmgError) throw error;
    throw new PmgError('model-layout', `${path} is not a readable ONNX model (${(error as Error).message})`, { cause: error, details: { path } });
  } finally {
    closeSync(fd);
  }
}

function initializerType(cursor: FileCursor, from: number, to: number): number {
  for (const f of fields(cursor, from, to)) {
    if (f.field === 2 && f.wire === 0) return cursor.varint(f.start)[0];
    if (f.field > 2) break;
  }
  return 0;
}

/** Whether the graph computes in fp16: fp16 inputs/outputs or fp16 weights. */
export function isFp16Graph(summary: OnnxDtypeSummary): boolean {
  return summary.ioTypes.includes(ONNX_FLOAT16) || (summary.initializerTypes.get(ONNX_FLOAT16) ?? 0) > 0;
}
