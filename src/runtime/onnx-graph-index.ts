/** An index of an ONNX graph for rewriting: who produces and who reads each value, its initializers, constant-ness. */
import type onnxProto from 'onnx-proto';

type Graph = onnxProto.onnx.IGraphProto;
type Node = onnxProto.onnx.INodeProto;

/** Ops that compute only from constants when all their inputs are constant. */
const CONSTANT_FOLDABLE = new Set(['Constant', 'Transpose', 'Cast', 'DequantizeLinear', 'Reshape', 'Identity', 'Unsqueeze', 'Squeeze', 'Add', 'Mul']);

export class GraphIndex {
  readonly producer = new Map<string, Node>();
  readonly consumers = new Map<string, Node[]>();
  readonly initializers: Map<string, onnxProto.onnx.ITensorProto>;
  private readonly constant = new Map<string, boolean>();

  constructor(readonly graph: Graph) {
    this.initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
    for (const node of graph.node ?? []) {
      for (const output of node.output ?? []) if (output) this.producer.set(output, node);
      for (const input of node.input ?? []) {
        if (!input) continue;
        const list = this.consumers.get(input) ?? [];
        list.push(node);
        this.consumers.set(input, list);
      }
    }
  }

  /** True when the value depends on constants only (initializers, Constant nodes, and ops of them). */
  isConstant(name: string, depth = 0): boolean {
    if (this.initializers.has(name)) return true;
    const known = this.constant.get(name);
    if (known !== undefined) return known;
    const node = this.producer.get(name);
    const result =
      !!node && depth < 12 && CONSTANT_FOLDABLE.has(node.opType ?? '') && (node.input ?? []).every((input) => !input || this.isConstant(input, depth + 1));
    this.constant.set(name, result);
    return result;
  }
}

/** "<Op> node <name>" for messages. */
export function nodeLabel(node: Node): string {
  return `${node.opType} node ${node.name || (node.output ?? [])[0] || '(unnamed)'}`;
}
