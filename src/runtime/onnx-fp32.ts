/**
 * Rewrites an fp16 ONNX graph as fp32, once, so a CPU loads float32 weights directly instead of onnxruntime casting
 * them at every session creation (the issue measured a 5.8 GB peak to load SD's fp16 UNet on CPU, and no speed gain).
 *
 * Every float16 becomes float32: initializers (raw, int32_data or ONNX external data), tensor attributes (Constant,
 * ConstantOfShape, ...), Cast/CastLike targets and `dtype` attributes, the element types of graph inputs, outputs and
 * value_info, in subgraphs too. The copy keeps its weights as ONNX external data (`<file>.data` beside it, offsets
 * aligned to 4 KB), since an fp32 UNet is past protobuf's 2 GB. Both files are written under temporary names and
 * renamed when complete. What it cannot rewrite (a sparse fp16 initializer, a missing external-data file) is a
 * one-line `model-layout` error naming the file and the tensor.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import onnxProto from 'onnx-proto';
import { fromFloat16Bits } from '../core/float16.js';
import { PmgError } from '../errors/pmg-error.js';
import { ONNX_FLOAT, ONNX_FLOAT16 } from './onnx-scan.js';
import { EXTERNAL_LOCATION, tensorRawBytes } from './onnx-tensor-data.js';

const { onnx } = onnxProto;
type Graph = onnxProto.onnx.IGraphProto;
type Tensor = onnxProto.onnx.ITensorProto;
type TypeProto = onnxProto.onnx.ITypeProto;

/** Tensors at least this large go to the external-data file. */
const EXTERNAL_MIN_BYTES = 1024;
const ALIGN = 4096;
const EXTERNAL = EXTERNAL_LOCATION;
/** Ops whose `dtype` attribute names an output type. */
const DTYPE_OPS = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'EyeLike', 'Multinomial', 'Bernoulli']);

export interface Fp32Conversion {
  source: string;
  dest: string;
  /** Initializers and tensor attributes turned from float16 into float32. */
  tensors: number;
  /** Cast nodes, dtype attributes and value types changed. */
  types: number;
  /** Size of the written graph plus its external data. */
  bytes: number;
  ms: number;
}

let halfTable: Float32Array | undefined;

/** float16 bits (little-endian bytes) -> float32 bytes, through a 65536-entry table. */
function halfToFloatBytes(bytes: Uint8Array): Uint8Array {
  halfTable ??= Float32Array.from({ length: 65536 }, (_, bits) => fromFloat16Bits(bits));
  const count = bytes.byteLength / 2;
  const out = new Float32Array(count);
  const bits = bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, count) : new Uint16Array(Uint8Array.from(bytes).buffer);
  for (let i = 0; i < count; i++) out[i] = halfTable[bits[i]!]!;
  return new Uint8Array(out.buffer);
}

const int = (value: unknown): number => (typeof value === 'number' ? value : Number(String(value)));

class Converter {
  tensors = 0;
  types = 0;
  private offset = 0;

  constructor(
    private readonly sourceDir: string,
    private readonly source: string,
    private readonly dataFd: number,
    private readonly dataName: string,
  ) {}

  fail(what: string): never {
    throw new PmgError('model-layout', `cannot convert ${this.source} to fp32: ${what}`, { details: { path: this.source } });
  }

  /** The bytes of a tensor stored raw or as external data; undefined for the typed fields (float_data, ...). */
  private rawBytes(t: Tensor): Uint8Array | undefined {
    return tensorRawBytes(t, this.sourceDir, (what) => this.fail(what));
  }

  /** Converts a tensor in place (fp16 -> fp32); initializers of 1 KB or more move to the external-data file. */
  tensor(t: Tensor, external: boolean): void {
    let bytes = this.rawBytes(t);
    if (int(t.dataType) === ONNX_FLOAT16) {
      if (!bytes) {
        // int32_data holds each float16's bits in an int32.
        const bits = Uint16Array.from((t.int32Data ?? []).map(int));
        bytes = new Uint8Array(bits.buffer);
      }
      bytes = halfToFloatBytes(bytes);
      t.dataType = ONNX_FLOAT;
      t.int32Data = [];
      this.tensors++;
    }
    if (!bytes) return; // typed fields (float_data, int64_data, ...): left as they are
    if (external && bytes.byteLength >= EXTERNAL_MIN_BYTES) {
      this.offset = Math.ceil(this.offset / ALIGN) * ALIGN;
      writeSync(this.dataFd, bytes, 0, bytes.byteLength, this.offset);
      t.dataLocation = EXTERNAL;
      t.externalData = [
        { key: 'location', value: this.dataName },
        { key: 'offset', value: String(this.offset) },
        { key: 'length', value: String(bytes.byteLength) },
      ];
      t.rawData = new Uint8Array(0);
      this.offset += bytes.byteLength;
    } else {
      t.dataLocation = 0;
      t.externalData = [];
      t.rawData = bytes;
    }
  }

  type(type: TypeProto | null | undefined): void {
    if (!type) return;
    if (type.tensorType && int(type.tensorType.elemType) === ONNX_FLOAT16) {
      type.tensorType.elemType = ONNX_FLOAT;
      this.types++;
    }
    if (type.sparseTensorType && int(type.sparseTensorType.elemType) === ONNX_FLOAT16) {
      type.sparseTensorType.elemType = ONNX_FLOAT;
      this.types++;
    }
    this.type(type.sequenceType?.elemType);
    this.type(type.optionalType?.elemType);
    this.type(type.mapType?.valueType);
  }

  graph(graph: Graph, external: boolean): void {
    for (const t of graph.initializer ?? []) this.tensor(t, external);
    for (const sparse of graph.sparseInitializer ?? []) {
      if (int(sparse.values?.dataType) === ONNX_FLOAT16)
        this.fail(`sparse initializer ${sparse.values?.name ?? '(unnamed)'} is fp16 (sparse tensors are not converted)`);
    }
    for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) this.type(v.type);
    for (const node of graph.node ?? []) {
      for (const a of node.attribute ?? []) {
        if (((node.opType === 'Cast' && a.name === 'to') || (DTYPE_OPS.has(node.opType ?? '') && a.name === 'dtype')) && int(a.i) === ONNX_FLOAT16) {
          a.i = ONNX_FLOAT;
          this.types++;
        }
        if (a.t) this.tensor(a.t, false);
        for (const t of a.tensors ?? []) this.tensor(t, false);
        if (a.sparseTensor && int(a.sparseTensor.values?.dataType) === ONNX_FLOAT16)
          this.fail(`node ${node.name ?? node.opType} has a sparse fp16 attribute ${a.name}`);
        if (a.g) this.graph(a.g, false);
        for (const g of a.graphs ?? []) this.graph(g, false);
        this.type(a.tp);
        for (const tp of a.typeProtos ?? []) this.type(tp);
      }
    }
  }

  get dataBytes(): number {
    return this.offset;
  }
}

/** Write `dest` (and `dest`.data) as the fp32 version of the ONNX graph `source`. */
export function convertOnnxToFp32(source: string, dest: string): Fp32Conversion {
  const started = performance.now();
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(readFileSync(source));
  } catch (error) {
    throw new PmgError('model-layout', `cannot convert ${source} to fp32: it is not an ONNX model (${(error as Error).message})`, {
      cause: error,
      details: { path: source },
    });
  }
  if (!model.graph) throw new PmgError('model-layout', `cannot convert ${source} to fp32: it has no graph`, { details: { path: source } });
  const dataName = `${basename(dest)}.data`;
  const temp = `.tmp-${process.pid}`;
  const dataPath = join(dirname(dest), dataName);
  let dataFd: number;
  try {
    dataFd = openSync(dataPath + temp, 'w');
  } catch (error) {
    throw new PmgError('file-system', `cannot write the fp32 copy ${dest}: ${(error as Error).message}`, { cause: error, details: { path: dest } });
  }
  const converter = new Converter(dirname(source), source, dataFd, dataName);
  try {
    try {
      converter.graph(model.graph, true);
      for (const f of model.functions ?? []) for (const node of f.node ?? []) converter.graph({ node: [node] }, false);
    } finally {
      closeSync(dataFd);
    }
    model.metadataProps = [
      ...(model.metadataProps ?? []).filter((p) => p.key !== 'pmg.converted_from'),
      { key: 'pmg.converted_from', value: `float16 ${basename(source)}` },
    ];
    const bytes = onnx.ModelProto.encode(model).finish();
    writeFileSync(dest + temp, bytes);
    renameSync(dataPath + temp, dataPath);
    renameSync(dest + temp, dest);
    return {
      source,
      dest,
      tensors: converter.tensors,
      types: converter.types,
      bytes: bytes.byteLength + converter.dataBytes,
      ms: Math.round(performance.now() - started),
    };
  } catch (error) {
    rmSync(dataPath + temp, { force: true });
    rmSync(dest + temp, { force: true });
    if (error instanceof PmgError) throw error;
    throw new PmgError('file-system', `cannot write the fp32 copy ${dest}: ${(error as Error).message}`, { cause: error, details: { path: dest } });
  }
}
