/**
 * What the gradient rules need to know about a forward graph's values without running it: element types, ranks
 * where they follow from the graph (undefined where they do not), and the values of small int constants (axes,
 * perms, split sizes) held in initializers or Constant nodes.
 */
import onnxProto from 'onnx-proto';
import { DataType } from '../fixtures/onnx-graph.js';

type Graph = onnxProto.onnx.IGraphProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

const num = (value: unknown): number => (typeof value === 'number' ? value : Number(String(value ?? 0)));

export function attrOf(node: Node, name: string): onnxProto.onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}
export function attrInt(node: Node, name: string, fallback: number): number {
  const a = attrOf(node, name);
  return a ? num(a.i) : fallback;
}
export function attrInts(node: Node, name: string): number[] | undefined {
  const a = attrOf(node, name);
  return a ? (a.ints ?? []).map(num) : undefined;
}
export function attrFloat(node: Node, name: string, fallback: number): number {
  const a = attrOf(node, name);
  return a ? (a.f ?? 0) : fallback;
}
export function attrString(node: Node, name: string, fallback: string): string {
  const a = attrOf(node, name);
  return a?.s ? new TextDecoder().decode(a.s) : fallback;
}

/** int64/int32 values of a tensor proto (inline only). */
function intValues(t: Tensor): number[] | undefined {
  if (t.dataLocation === 1) return undefined;
  if (t.dataType === DataType.INT64) {
    if (t.int64Data?.length) return t.int64Data.map(num);
    if (t.rawData) {
      const raw = t.rawData;
      const view = new BigInt64Array(Uint8Array.from(raw).buffer);
      return [...view].map(Number);
    }
    return [];
  }
  if (t.dataType === DataType.INT32) {
    if (t.int32Data?.length) return t.int32Data.map(num);
    if (t.rawData) return [...new Int32Array(Uint8Array.from(t.rawData).buffer)];
    return [];
  }
  return undefined;
}

/** Ops whose output has the rank of their first input. */
const SAME_RANK = new Set([
  'Identity',
  'Neg',
  'Sqrt',
  'Reciprocal',
  'Exp',
  'Log',
  'Sigmoid',
  'Tanh',
  'Erf',
  'Relu',
  'Softmax',
  'LogSoftmax',
  'Cast',
  'Conv',
  'ConvTranspose',
  'GroupNormalization',
  'InstanceNormalization',
  'LayerNormalization',
  'SimplifiedLayerNormalization',
  'RMSNormalization',
  'Transpose',
  'Concat',
  'Split',
  'Slice',
  'Resize',
  'Abs',
  'Gelu',
  'Dropout',
  'Pad',
  'Trilu',
  'Clip',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
]);
const BROADCAST = new Set([
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Where',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'And',
  'Or',
  'Max',
  'Min',
  'Sum',
  'MatMul',
]);

export class GraphFacts {
  readonly types = new Map<string, number>();
  readonly ranks = new Map<string, number>();
  private readonly constants = new Map<string, Tensor>();
  readonly producer = new Map<string, Node>();

  constructor(
    graph: Graph,
    readonly opset: number,
  ) {
    for (const t of graph.initializer ?? []) {
      this.constants.set(t.name ?? '', t);
      this.types.set(t.name ?? '', t.dataType ?? 0);
      this.ranks.set(t.name ?? '', (t.dims ?? []).length);
    }
    for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
      const tensor = v.type?.tensorType;
      if (!tensor || !v.name) continue;
      if (tensor.elemType) this.types.set(v.name, tensor.elemType);
      if (tensor.shape) this.ranks.set(v.name, (tensor.shape.dim ?? []).length);
    }
    for (const node of graph.node ?? []) {
      for (const out of node.output ?? []) if (out) this.producer.set(out, node);
      this.infer(node);
    }
  }

  type(name: string): number | undefined {
    return this.types.get(name);
  }

  rank(name: string): number | undefined {
    return this.ranks.get(name);
  }

  /** The int values of a constant (initializer or Constant node, through Identity/Cast), or undefined. */
  ints(name: string | undefined): number[] | undefined {
    if (!name) return undefined;
    const t = this.constants.get(name);
    if (t) return intValues(t);
    const node = this.producer.get(name);
    if (node?.opType === 'Constant') {
      const a = attrOf(node, 'value');
      if (a?.t) return intValues(a.t);
      const ints = attrInts(node, 'value_ints');
      if (ints) return ints;
      const i = attrOf(node, 'value_int');
      if (i) return [num(i.i)];
    }
    if (node && (node.opType === 'Identity' || node.opType === 'Cast')) return this.ints(node.input?.[0]);
    return undefined;
  }

  private infer(node: Node): void {
    const op = node.opType ?? '';
    const inputs = node.input ?? [];
    const outputs = node.output ?? [];
    const set = (i: number, type: number | undefined, rank: number | undefined): void => {
      const name = outputs[i];
      if (!name) return;
      if (type !== undefined && !this.types.has(name)) this.types.set(name, type);
      if (rank !== undefined && !this.ranks.has(name)) this.ranks.set(name, rank);
    };
    const first = inputs[0] ?? '';
    const inRank = this.ranks.get(first);
    const inType = this.types.get(first);
    if (op === 'Constant') {
      const t = attrOf(node, 'value')?.t;
      if (t) {
        set(0, t.dataType ?? undefined, (t.dims ?? []).length);
        this.constants.set(outputs[0] ?? '', t);
      }
      return;
    }
    if (op === 'Shape') return set(0, DataType.INT64, 1);
    if (op === 'Size') return set(0, DataType.INT64, 0);
    if (op === 'NonZero') return set(0, DataType.INT64, 2);
    if (op === 'Cast') return set(0, attrInt(node, 'to', 0), inRank);
    if (['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Not'].includes(op)) return set(0, DataType.BOOL, this.maxRank(inputs));
    if (op === 'ConstantOfShape') {
      const t = attrOf(node, 'value')?.t;
      const shape = this.ints(first);
      return set(0, t?.dataType ?? DataType.FLOAT, shape ? shape.length : undefined);
    }
    if (op === 'Where') return set(0, this.types.get(inputs[1] ?? ''), this.maxRank(inputs));
    if (BROADCAST.has(op)) {
      const type = inputs.map((i) => this.types.get(i)).find((t) => t !== undefined);
      return set(0, type, this.maxRank(inputs));
    }
    if (op === 'Split') {
      outputs.forEach((_, i) => set(i, inType, inRank));
      return;
    }
    if (SAME_RANK.has(op)) {
      outputs.forEach((_, i) => set(i, inType, i === 0 ? inRank : undefined));
      return;
    }
    if (op === 'Reshape' || op === 'Expand') {
      const shape = this.ints(inputs[1]);
      const shapeRank = shape?.length ?? this.lengthOf(inputs[1]);
      return set(0, inType, op === 'Expand' && shapeRank !== undefined && inRank !== undefined ? Math.max(shapeRank, inRank) : shapeRank);
    }
    if (op === 'Unsqueeze' || op === 'Squeeze') {
      const axes = attrInts(node, 'axes') ?? this.ints(inputs[1]);
      if (op === 'Squeeze' && !axes) return set(0, inType, undefined);
      const delta = (axes ?? []).length * (op === 'Unsqueeze' ? 1 : -1);
      return set(0, inType, inRank === undefined ? undefined : inRank + delta);
    }
    if (op === 'Gather') {
      const indicesRank = this.ranks.get(inputs[1] ?? '');
      return set(0, inType, inRank !== undefined && indicesRank !== undefined ? inRank - 1 + indicesRank : undefined);
    }
    if (op.startsWith('Reduce')) {
      const keep = attrInt(node, 'keepdims', 1);
      const axes = attrInts(node, 'axes') ?? this.ints(inputs[1]);
      return set(0, inType, keep ? inRank : axes && inRank !== undefined ? inRank - axes.length : undefined);
    }
    if (op === 'Gemm') return set(0, inType, 2);
    if (op === 'Range') return set(0, inType, 1);
    set(0, inType, undefined);
  }

  private maxRank(inputs: readonly string[]): number | undefined {
    let best = 0;
    for (const i of inputs) {
      if (!i) continue;
      const r = this.ranks.get(i);
      if (r === undefined) return undefined;
      best = Math.max(best, r);
    }
    return best;
  }

  /** The length of a 1-D int tensor that is built from parts (Concat of known-length pieces, Shape of a known rank). */
  private lengthOf(name: string | undefined, depth = 0): number | undefined {
    if (!name || depth > 8) return undefined;
    const values = this.ints(name);
    if (values) return values.length;
    const node = this.producer.get(name);
    if (!node) return undefined;
    if (node.opType === 'Shape') return attrOf(node, 'start') || attrOf(node, 'end') ? undefined : this.ranks.get(node.input?.[0] ?? '');
    if (node.opType === 'Concat') {
      let total = 0;
      for (const i of node.input ?? []) {
        const part = this.ranks.get(i) === 0 ? 1 : this.lengthOf(i, depth + 1);
        if (part === undefined) return undefined;
        total += part;
      }
      return total;
    }
    if (node.opType === 'Unsqueeze' && this.ranks.get(node.input?.[0] ?? '') === 0) return 1;
    if (node.opType === 'Cast' || node.opType === 'Identity') return this.lengthOf(node.input?.[0], depth + 1);
    return undefined;
  }
}
