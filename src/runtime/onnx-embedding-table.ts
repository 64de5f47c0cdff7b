/**
 * The input embedding table of a text-generation graph: where the lookup is (the Gather on input_ids), which
 * initializer holds the table, how it is stored, and a writer that streams it into `embed_tokens.safetensors`.
 *
 * Recognised storage (what fp32/fp16 exports and onnxruntime's q8 quantizers write):
 *  - a float initializer (float32, float16, bfloat16): copied as it is (F32, F16, BF16);
 *  - int8/uint8 through DequantizeLinear, either on the table before the Gather (QDQ form; per-tensor or per-axis
 *    scale) or on the gathered rows after it (onnxruntime's dynamic quantizer; per-tensor): dequantized once,
 *    y = (q − zero_point) · scale computed in float32 as onnxruntime does, stored F32 (F16 when the scale is float16).
 * Anything else — GatherBlockQuantized (4-bit tables), blocked DequantizeLinear, a table computed by other ops — is
 * refused in one line naming the node. The table is read in slices (inline, or from the external-data file), so a
 * large table never sits whole in memory.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { readFullyAt } from '../core/file-range.js';
import { float32ToFloat16, fromFloat16Bits } from '../core/float16.js';
import { encodeSafetensorsHeader, type SafetensorsDtype } from '../core/safetensors.js';
import { PmgError } from '../errors/pmg-error.js';
import { EMBED_TOKENS_TENSOR } from './llm-body-embeddings.js';
import { externalRange, isExternal, tensorRawBytes } from './onnx-tensor-data.js';
import { nodeLabel, type GraphIndex } from './onnx-graph-index.js';

type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

const { FLOAT, UINT8, INT8, FLOAT16, BFLOAT16 } = onnxProto.onnx.TensorProto.DataType;
const FLOAT_STORAGE: Record<number, SafetensorsDtype> = { [FLOAT]: 'F32', [FLOAT16]: 'F16', [BFLOAT16]: 'BF16' };
const TYPE_NAMES: Record<number, string> = { [FLOAT]: 'float32', [FLOAT16]: 'float16', [BFLOAT16]: 'bfloat16', [INT8]: 'int8', [UINT8]: 'uint8' };
/** Rows written per chunk: about this many bytes of output. */
const CHUNK_BYTES = 8 * 1024 * 1024;

export interface TableQuantization {
  type: 'int8' | 'uint8';
  /** One value (per-tensor), or one per row (axis 0) or per column (axis 1). */
  scale: Float32Array;
  zeroPoint: Int32Array;
  axis?: 0 | 1;
  scaleType: number;
  node: string;
}

export interface EmbeddingTableSource {
  /** The lookup's nodes (the Gather, and a DequantizeLinear that belongs to it). */
  nodes: Node[];
  /** The value the layers read: the lookup's output. */
  output: string;
  initializer: Tensor;
  vocab: number;
  hidden: number;
  /** The ONNX element type of the lookup's output (becomes inputs_embeds' type). */
  floatType: number;
  quantization?: TableQuantization;
  /** E.g. "int8 initializer embed_q through DequantizeLinear node /dq (per-tensor), dequantized once". */
  description: string;
}

const int = (value: unknown): number => (typeof value === 'number' ? value : Number(String(value ?? 0)));

function attribute(node: Node, name: string): number | undefined {
  const found = (node.attribute ?? []).find((a) => a.name === name);
  return found ? int(found.i) : undefined;
}

/** Find the lookup and its table in the indexed graph; `fail` throws the caller's one-line error. */
export function findEmbeddingTable(index: GraphIndex, graphDir: string, fail: (why: string) => never): EmbeddingTableSource {
  const readers = index.consumers.get('input_ids') ?? [];
  const gathers = readers.filter((node) => node.opType === 'Gather' && !node.domain && node.input?.[1] === 'input_ids');
  if (gathers.length === 0) {
    const blocked = readers.find((node) => node.opType === 'GatherBlockQuantized');
    if (blocked)
      fail(`the embedding lookup is ${nodeLabel(blocked)}, a block-quantized (4-bit) table pmg does not dequantize; use the fp32, fp16 or q8 export`);
    fail(
      `no Gather node takes input_ids as its indices (input_ids feeds ${readers.map(nodeLabel).join(', ') || 'nothing'}), so pmg cannot find the embedding lookup`,
    );
  }
  if (gathers.length > 1) fail(`input_ids feeds ${gathers.length} Gather nodes (${gathers.map(nodeLabel).join(', ')}); pmg expects one embedding lookup`);
  const gather = gathers[0]!;
  if ((attribute(gather, 'axis') ?? 0) !== 0) fail(`the embedding lookup ${nodeLabel(gather)} gathers along axis ${attribute(gather, 'axis')}, not 0`);
  const data = gather.input![0]!;
  const direct = index.initializers.get(data);
  const shapeOf = (t: Tensor): [number, number] => {
    const dims = (t.dims ?? []).map(int);
    if (dims.length !== 2) fail(`the embedding lookup ${nodeLabel(gather)} reads ${t.name}, which has shape [${dims.join(', ')}], not [vocab, hidden]`);
    return dims as [number, number];
  };
  if (direct && FLOAT_STORAGE[int(direct.dataType)]) {
    const [vocab, hidden] = shapeOf(direct);
    return {
      nodes: [gather],
      output: gather.output![0]!,
      initializer: direct,
      vocab,
      hidden,
      floatType: int(direct.dataType),
      description: `${TYPE_NAMES[int(direct.dataType)]} initializer ${direct.name}`,
    };
  }
  // QDQ form: Gather(DequantizeLinear(table_q, scale, zero_point), input_ids).
  const producer = index.producer.get(data);
  if (producer?.opType === 'DequantizeLinear') {
    const quantized = index.initializers.get(producer.input?.[0] ?? '');
    if (!quantized) fail(`the embedding table comes from ${nodeLabel(producer)}, whose input is not a weight`);
    const [vocab, hidden] = shapeOf(quantized!);
    const quantization = dequantization(index, graphDir, producer, quantized!, [vocab, hidden], fail);
    return {
      nodes: [gather],
      output: gather.output![0]!,
      initializer: quantized!,
      vocab,
      hidden,
      floatType: quantization.scaleType,
      quantization,
      description: `${quantization.type} initializer ${quantized!.name} through ${nodeLabel(producer)} (${quantization.axis === undefined ? 'per-tensor' : `per-axis ${quantization.axis}`}), dequantized once`,
    };
  }
  // Dynamic-quantizer form: DequantizeLinear(Gather(table_q, input_ids), scale, zero_point).
  if (direct && (int(direct.dataType) === INT8 || int(direct.dataType) === UINT8)) {
    const after = index.consumers.get(gather.output![0]!) ?? [];
    const dq = after.length === 1 && after[0]!.opType === 'DequantizeLinear' && after[0]!.input?.[0] === gather.output![0] ? after[0]! : undefined;
    if (!dq)
      fail(
        `the embedding lookup ${nodeLabel(gather)} reads the ${TYPE_NAMES[int(direct.dataType)]} table ${direct.name}, but its rows go to ${after.map(nodeLabel).join(', ') || 'nothing'}, not one DequantizeLinear`,
      );
    const [vocab, hidden] = shapeOf(direct);
    const quantization = dequantization(index, graphDir, dq!, direct, undefined, fail);
    return {
      nodes: [gather, dq!],
      output: dq!.output![0]!,
      initializer: direct,
      vocab,
      hidden,
      floatType: quantization.scaleType,
      quantization,
      description: `${quantization.type} initializer ${direct.name} gathered, then ${nodeLabel(dq!)} (per-tensor), dequantized once`,
    };
  }
  const from = direct
    ? `the ${TYPE_NAMES[int(direct.dataType)] ?? `type-${int(direct.dataType)}`} initializer ${direct.name}`
    : producer
      ? nodeLabel(producer)
      : `the graph input ${data}`;
  return fail(
    `the embedding lookup ${nodeLabel(gather)} reads its table from ${from}; pmg reads a float initializer, or an int8/uint8 one through DequantizeLinear`,
  );
}

/** Scale and zero point of a DequantizeLinear on the table ([vocab, hidden] given) or on gathered rows (per-tensor only). */
function dequantization(
  index: GraphIndex,
  graphDir: string,
  node: Node,
  quantized: Tensor,
  tableDims: [number, number] | undefined,
  fail: (why: string) => never,
): TableQuantization {
  const qType = int(quantized.dataType);
  if (qType !== INT8 && qType !== UINT8) fail(`${nodeLabel(node)} dequantizes a ${TYPE_NAMES[qType] ?? `type-${qType}`} table; pmg dequantizes int8 and uint8`);
  if ((attribute(node, 'block_size') ?? 0) !== 0)
    fail(`${nodeLabel(node)} uses blocked quantization (block_size ${attribute(node, 'block_size')}), which pmg does not dequantize`);
  const scaleInit = index.initializers.get(node.input?.[1] ?? '');
  if (!scaleInit) fail(`the scale of ${nodeLabel(node)} is not a weight`);
  const scaleType = int(scaleInit!.dataType);
  if (scaleType !== FLOAT && scaleType !== FLOAT16)
    fail(`the scale of ${nodeLabel(node)} is ${TYPE_NAMES[scaleType] ?? `type-${scaleType}`}; pmg reads float32 or float16 scales`);
  const scale = smallFloats(scaleInit!, graphDir, fail);
  const zeroName = node.input?.[2];
  const zeroInit = zeroName ? index.initializers.get(zeroName) : undefined;
  if (zeroName && !zeroInit) fail(`the zero point of ${nodeLabel(node)} is not a weight`);
  const zeroPoint = zeroInit ? smallInts(zeroInit, graphDir, fail) : new Int32Array(scale.length);
  if (zeroPoint.length !== scale.length) fail(`${nodeLabel(node)} has ${scale.length} scales but ${zeroPoint.length} zero points`);
  const type = qType === INT8 ? 'int8' : 'uint8';
  if (scale.length === 1) return { type, scale, zeroPoint, scaleType, node: nodeLabel(node) };
  if (!tableDims) fail(`${nodeLabel(node)} dequantizes the gathered rows with ${scale.length} scales; pmg reads a per-tensor scale there`);
  const rawAxis = attribute(node, 'axis') ?? 1;
  const axis = rawAxis < 0 ? rawAxis + 2 : rawAxis;
  if ((axis !== 0 && axis !== 1) || scale.length !== tableDims![axis])
    fail(`${nodeLabel(node)} has ${scale.length} scales along axis ${rawAxis} of a [${tableDims!.join(', ')}] table`);
  return { type, scale, zeroPoint, axis: axis as 0 | 1, scaleType, node: nodeLabel(node) };
}

function smallFloats(t: Tensor, graphDir: string, fail: (why: string) => never): Float32Array {
  if (t.floatData && t.floatData.length > 0) return Float32Array.from(t.floatData);
  const bytes = tensorRawBytes(t, graphDir, fail);
  if (int(t.dataType) === FLOAT16) {
    const bits = bytes ? new Uint16Array(Uint8Array.from(bytes).buffer) : Uint16Array.from((t.int32Data ?? []).map(int));
    return Float32Array.from(bits, (b) => fromFloat16Bits(b));
  }
  if (!bytes) fail(`tensor ${t.name} has no data`);
  return new Float32Array(Uint8Array.from(bytes!).buffer);
}

function smallInts(t: Tensor, graphDir: string, fail: (why: string) => never): Int32Array {
  if (t.int32Data && t.int32Data.length > 0) return Int32Array.from(t.int32Data.map(int));
  const bytes = tensorRawBytes(t, graphDir, fail);
  if (!bytes) return new Int32Array(0);
  return int(t.dataType) === INT8 ? Int32Array.from(new Int8Array(Uint8Array.from(bytes).buffer)) : Int32Array.from(bytes);
}

/** The dtype the table is written in. */
export function tableStorage(source: EmbeddingTableSource): SafetensorsDtype {
  if (!source.quantization) return FLOAT_STORAGE[source.floatType]!;
  return source.quantization.scaleType === FLOAT16 ? 'F16' : 'F32';
}

/** Reads byte ranges of the table initializer wherever it is stored. */
function tableReader(t: Tensor, graphDir: string, fail: (why: string) => never): { read(offset: number, length: number): Uint8Array; close(): void } {
  if (isExternal(t)) {
    const range = externalRange(t, graphDir, fail);
    const fd = openSync(range.path, 'r');
    return {
      read(offset, length) {
        const out = new Uint8Array(length);
        if (!readFullyAt(fd, out, range.offset + offset)) fail(`${range.location} ends inside tensor ${t.name} (truncated?)`);
        return out;
      },
      close: () => closeSync(fd),
    };
  }
  let bytes = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (!bytes && t.floatData && t.floatData.length > 0) bytes = new Uint8Array(Float32Array.from(t.floatData).buffer);
  if (!bytes && t.int32Data && t.int32Data.length > 0) {
    const values = t.int32Data.map(int);
    const type = int(t.dataType);
    bytes =
      type === FLOAT16 || type === BFLOAT16
        ? new Uint8Array(Uint16Array.from(values).buffer)
        : type === INT8
          ? new Uint8Array(Int8Array.from(values).buffer)
          : Uint8Array.from(values);
  }
  if (!bytes) fail(`tensor ${t.name} holds no data pmg can read`);
  return { read: (offset, length) => bytes!.subarray(offset, offset + length), close: () => undefined };
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
}

/**
 * Write the table to `file` (safetensors, tensor `model.embed_tokens.weight`), streaming it in slices; written to a
 * temporary name and renamed when complete.
 */
export function writeEmbeddingTable(
  source: EmbeddingTableSource,
  graphDir: string,
  file: string,
  metadata: Record<string, string>,
  fail: (why: string) => never,
): { dtype: SafetensorsDtype; bytes: number } {
  const dtype = tableStorage(source);
  const { vocab, hidden, quantization } = source;
  const outElement = dtype === 'F32' ? 4 : 2;
  const inElement = quantization ? 1 : outElement;
  const byteLength = vocab * hidden * outElement;
  const expectedInput = vocab * hidden * inElement;
  const header = encodeSafetensorsHeader([[EMBED_TOKENS_TENSOR, { dtype, shape: [vocab, hidden], byteLength }]], metadata);
  const reader = tableReader(source.initializer, graphDir, fail);
  const temporary = `${file}.tmp-${process.pid}`;
  let fd: number | undefined;
  try {
    const available = isExternal(source.initializer)
      ? externalRange(source.initializer, graphDir, fail).length
      : reader.read(0, Number.MAX_SAFE_INTEGER).length;
    if (available < expectedInput)
      fail(`tensor ${source.initializer.name} has ${available} bytes, fewer than the ${expectedInput} of a [${vocab}, ${hidden}] table`);
    fd = openSync(temporary, 'w');
    writeAll(fd, header);
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / (hidden * outElement)));
    for (let row = 0; row < vocab; row += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, vocab - row);
      const raw = reader.read(row * hidden * inElement, rows * hidden * inElement);
      writeAll(fd, quantization ? dequantizeRows(raw, row, rows, hidden, quantization, dtype) : raw);
    }
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, file);
    return { dtype, bytes: header.length + byteLength };
  } finally {
    reader.close();
    if (fd !== undefined) closeSync(fd);
    rmSync(temporary, { force: true });
  }
}

/** (q − zero_point) · scale for `rows` rows starting at `firstRow`, in float32 (rounded to float16 for F16). */
function dequantizeRows(raw: Uint8Array, firstRow: number, rows: number, hidden: number, q: TableQuantization, dtype: SafetensorsDtype): Uint8Array {
  const values = q.type === 'int8' ? new Int8Array(raw.buffer, raw.byteOffset, raw.length) : raw;
  const out = new Float32Array(rows * hidden);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < hidden; c++) {
      const k = q.axis === 0 ? firstRow + r : q.axis === 1 ? c : 0;
      out[r * hidden + c] = (values[r * hidden + c]! - q.zeroPoint[k]!) * q.scale[k]!;
    }
  }
  return dtype === 'F16' ? new Uint8Array(float32ToFloat16(out).buffer) : new Uint8Array(out.buffer);
}
