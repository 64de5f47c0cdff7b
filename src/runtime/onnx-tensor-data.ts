/**
 * Where an ONNX initializer's bytes are: inline (`raw_data`) or in an external-data file beside the graph
 * (`data_location: EXTERNAL` with `location`, `offset`, `length`; protobuf stops at 2 GB, so large models keep
 * their weights there). Readers that rewrite graphs use this to read a tensor, or to stream a slice of it, without
 * loading the whole data file. Typed fields (`float_data`, `int32_data`, ...) are the caller's business.
 */
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type onnxProto from 'onnx-proto';
import { readFullyAt } from '../core/file-range.js';

type Tensor = onnxProto.onnx.ITensorProto;

/** TensorProto.DataLocation.EXTERNAL */
export const EXTERNAL_LOCATION = 1;

export interface ExternalRange {
  /** The data file's path (the graph's folder joined with `location`). */
  path: string;
  location: string;
  offset: number;
  length: number;
}

const int = (value: unknown): number => (typeof value === 'number' ? value : Number(String(value)));

export function isExternal(t: Tensor): boolean {
  return int(t.dataLocation ?? 0) === EXTERNAL_LOCATION;
}

/** The file range of an external tensor; `fail` reports a missing location or file (one line, the caller's words). */
export function externalRange(t: Tensor, graphDir: string, fail: (what: string) => never): ExternalRange {
  const entry = (key: string): string | undefined => t.externalData?.find((e) => e.key === key)?.value ?? undefined;
  const location = entry('location');
  if (!location) fail(`tensor ${t.name} is external but names no file`);
  const path = join(graphDir, location);
  if (!existsSync(path)) fail(`tensor ${t.name} is in ${location}, which is missing beside the graph`);
  const offset = Number(entry('offset') ?? 0);
  const length = entry('length') !== undefined ? Number(entry('length')) : statSync(path).size - offset;
  return { path, location, offset, length };
}

/** `length` bytes of `path` from `offset`; `fail` is called when the file ends first. */
export function readFileRange(path: string, offset: number, length: number, fail: (what: string) => never): Uint8Array {
  const out = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    if (!readFullyAt(fd, out, offset)) fail(`${path} ends before byte ${offset + length}`);
  } finally {
    closeSync(fd);
  }
  return out;
}

/** A tensor's raw bytes, inline or external; undefined when it keeps its values in a typed field. */
export function tensorRawBytes(t: Tensor, graphDir: string, fail: (what: string) => never): Uint8Array | undefined {
  if (isExternal(t)) {
    const range = externalRange(t, graphDir, fail);
    return readFileRange(range.path, range.offset, range.length, (what) => fail(`tensor ${t.name}: ${what}`));
  }
  return t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
}
