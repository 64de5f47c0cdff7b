/**
 * Attention fusion: rewrites the multi-head attention of an exported UNet (or any transformer graph) into
 * onnxruntime's `com.microsoft.MultiHeadAttention` kernel. Exports spell attention out as
 *   Reshape → Transpose (split heads) → MatMul(Q, Kᵀ) → scale → Softmax → MatMul(·, V) → Transpose → Reshape,
 * which at 512 px builds a [heads, 4096, 4096] score matrix per image (512 MiB) and spends a fifth of a UNet call
 * in Softmax; the fused kernel computes the same attention without materialising it (measured in docs/performance.md:
 * 13% faster per UNet call, about 1 GiB less peak per row). The result is the same function of the same weights
 * (within float rounding), so this is not a quality trade-off.
 *
 * Patterns recognised (all others are left as exported, and counted):
 * - heads split by `Reshape([b, n, heads, headDim])` + `Transpose(perm 0,2,1,3)` and merged back the same way; the
 *   Reshape shapes may be constants or `Concat`s whose head dimensions are constants (traced exports);
 * - Kᵀ as `Transpose(perm 0,1,3,2)` of the split keys, or `Transpose(perm 0,2,3,1)` of the reshaped keys;
 * - the scale as constant `Mul`/`Div` on the scores, on Q or on Kᵀ (folded into one factor), or torch's
 *   scaled_dot_product_attention export, `Mul(Q, Sqrt(s))` and `Mul(Kᵀ, Sqrt(s))` with one shared `s` (its default,
 *   1/√headDim, unless `s` is a constant).
 * Attention with a mask (an `Add` or `Where` between the product and Softmax) is left alone.
 */
import onnxProto from 'onnx-proto';

type Model = onnxProto.onnx.IModelProto;
type Graph = onnxProto.onnx.IGraphProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

const FLOAT = 1;
const INT64 = 7;
const DOUBLE = 11;
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const MS_DOMAIN = 'com.microsoft';

export interface AttentionFusionResult {
  /** Attention blocks rewritten into MultiHeadAttention. */
  fused: number;
  /** Softmax nodes left as they were (not part of a recognised attention block). */
  unmatched: number;
}

/** One recognised block: the 3-D inputs of the fused node and the 3-D tensor it replaces. */
interface Match {
  query: string;
  key: string;
  value: string;
  output: string;
  heads: number;
  /** Undefined: the kernel's default 1/√headDim. */
  scale?: number;
}

class GraphIndex {
  readonly producer = new Map<string, Node>();
  readonly consumers = new Map<string, Node[]>();
  readonly initializers = new Map<string, Tensor>();
  readonly graphOutputs: Set<string>;

  constructor(readonly graph: Graph) {
    for (const node of graph.node ?? []) {
      for (const out of node.output ?? []) this.producer.set(out, node);
      for (const input of node.input ?? []) {
        if (!input) continue;
        let list = this.consumers.get(input);
        if (!list) this.consumers.set(input, (list = []));
        list.push(node);
      }
    }
    for (const t of graph.initializer ?? []) this.initializers.set(t.name ?? '', t);
    this.graphOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  }

  /** The only consumer of `name` (and `name` is not a graph output), or undefined. */
  soleConsumer(name: string): Node | undefined {
    const list = this.consumers.get(name) ?? [];
    return list.length === 1 && !this.graphOutputs.has(name) ? list[0] : undefined;
  }

  /** The constant tensor behind `name`: an initializer or a Constant node's value. */
  constant(name: string): Tensor | undefined {
    const init = this.initializers.get(name);
    if (init) return init;
    const node = this.producer.get(name);
    if (node?.opType !== 'Constant') return undefined;
    return node.attribute?.find((a) => a.name === 'value')?.t ?? undefined;
  }

  /** A one-element float constant. */
  scalar(name: string): number | undefined {
    const t = this.constant(name);
    if (!t || elementCount(t) !== 1) return undefined;
    return tensorNumbers(t)?.[0];
  }

  /**
   * The integer values of a 1-D shape tensor: a constant, or a Concat (axis 0) of one-element parts where
   * parts that are not constants (e.g. a traced batch size) come back as undefined.
   */
  shapeValues(name: string): (number | undefined)[] | undefined {
    const t = this.constant(name);
    if (t) return t.dataType === INT64 ? tensorNumbers(t) : undefined;
    const node = this.producer.get(name);
    if (node?.opType !== 'Concat' || intAttribute(node, 'axis') !== 0) return undefined;
    const out: (number | undefined)[] = [];
    for (const part of node.input ?? []) {
      const c = this.constant(part);
      if (c) {
        const values = tensorNumbers(c);
        if (!values || c.dataType !== INT64) return undefined;
        out.push(...values);
      } else {
        out.push(undefined); // a traced dimension: one element by construction of a reshape target
      }
    }
    return out;
  }
}

function elementCount(t: Tensor): number {
  return (t.dims ?? []).reduce<number>((a, b) => a * Number(b), 1);
}

/** The numbers of a small float, double or int64 tensor (raw or typed fields). */
function tensorNumbers(t: Tensor): number[] | undefined {
  const raw = t.rawData && t.rawData.length ? Buffer.from(t.rawData) : undefined;
  if (t.dataType === FLOAT) return raw ? Array.from({ length: raw.length / 4 }, (_, i) => raw.readFloatLE(i * 4)) : (t.floatData ?? []).map(Number);
  if (t.dataType === DOUBLE) return raw ? Array.from({ length: raw.length / 8 }, (_, i) => raw.readDoubleLE(i * 8)) : (t.doubleData ?? []).map(Number);
  if (t.dataType === INT64)
    return raw ? Array.from({ length: raw.length / 8 }, (_, i) => Number(raw.readBigInt64LE(i * 8))) : (t.int64Data ?? []).map((v) => Number(String(v)));
  return undefined;
}

function intsAttribute(node: Node, name: string): number[] | undefined {
  return node.attribute?.find((a) => a.name === name)?.ints?.map((v) => Number(String(v)));
}

function intAttribute(node: Node, name: string): number | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.i === undefined || a.i === null ? undefined : Number(String(a.i));
}

const samePerm = (node: Node | undefined, perm: number[]): boolean =>
  node?.opType === 'Transpose' && JSON.stringify(intsAttribute(node, 'perm')) === JSON.stringify(perm);

/** Scale factors in front of `name`: constant Mul/Div, or torch's Mul by Sqrt(s) (reported as `sqrtOf`). */
function stripScale(index: GraphIndex, name: string): { base: string; factor: number; sqrtOf?: string } | undefined {
  let factor = 1;
  let sqrtOf: string | undefined;
  let current = name;
  for (;;) {
    const node = index.producer.get(current);
    if (!node || (node.opType !== 'Mul' && node.opType !== 'Div')) return { base: current, factor, ...(sqrtOf ? { sqrtOf } : {}) };
    const [a, b] = node.input as [string, string];
    const sb = index.scalar(b);
    const sa = node.opType === 'Mul' ? index.scalar(a) : undefined;
    if (sb !== undefined) {
      factor = node.opType === 'Mul' ? factor * sb : factor / sb;
      current = a;
    } else if (sa !== undefined) {
      factor *= sa;
      current = b;
    } else if (node.opType === 'Mul' && index.producer.get(b)?.opType === 'Sqrt' && sqrtOf === undefined) {
      sqrtOf = index.producer.get(b)!.input![0]!;
      current = a;
    } else {
      return undefined;
    }
  }
}

/** `x4` = Transpose(0,2,1,3)(Reshape(x3, [·, ·, heads, headDim])): returns x3 and the head layout. */
function splitHeadsOf(index: GraphIndex, x4: string): { x3: string; heads: number; headDim: number } | undefined {
  const transpose = index.producer.get(x4);
  if (!samePerm(transpose, [0, 2, 1, 3])) return undefined;
  return reshapedHeads(index, transpose!.input![0]!);
}

/** `r` = Reshape(x3, [·, ·, heads, headDim]) with constant heads and headDim. */
function reshapedHeads(index: GraphIndex, r: string): { x3: string; heads: number; headDim: number } | undefined {
  const reshape = index.producer.get(r);
  if (reshape?.opType !== 'Reshape') return undefined;
  const shape = index.shapeValues(reshape.input![1]!);
  if (!shape || shape.length !== 4) return undefined;
  const [, , heads, headDim] = shape;
  if (!heads || !headDim || heads < 1 || headDim < 1) return undefined;
  return { x3: reshape.input![0]!, heads, headDim };
}

function matchAt(index: GraphIndex, softmax: Node): { match: Match; removed: Node[] } | undefined {
  const axis = intAttribute(softmax, 'axis') ?? -1;
  if (axis !== -1 && axis !== 3) return undefined;
  const scores = stripScale(index, softmax.input![0]!);
  if (!scores || scores.sqrtOf) return undefined;
  const qk = index.producer.get(scores.base);
  if (qk?.opType !== 'MatMul') return undefined;
  const av = index.soleConsumer(softmax.output![0]!);
  if (av?.opType !== 'MatMul' || av.input![0] !== softmax.output![0]) return undefined;

  const q = stripScale(index, qk.input![0]!);
  const kT = stripScale(index, qk.input![1]!);
  if (!q || !kT) return undefined;
  const query = splitHeadsOf(index, q.base);
  if (!query) return undefined;
  // Kᵀ: Transpose(0,1,3,2) of split keys, or Transpose(0,2,3,1) of the reshaped keys.
  const kTranspose = index.producer.get(kT.base);
  let key: ReturnType<typeof splitHeadsOf>;
  if (samePerm(kTranspose, [0, 1, 3, 2])) key = splitHeadsOf(index, kTranspose!.input![0]!);
  else if (samePerm(kTranspose, [0, 2, 3, 1])) key = reshapedHeads(index, kTranspose!.input![0]!);
  const value = splitHeadsOf(index, av.input![1]!);
  if (!key || !value) return undefined;
  const { heads, headDim } = query;
  if (key.heads !== heads || value.heads !== heads || key.headDim !== headDim || value.headDim !== headDim) return undefined;

  // torch's export scales Q and Kᵀ by the same Sqrt(s): both or neither.
  if ((q.sqrtOf === undefined) !== (kT.sqrtOf === undefined) || (q.sqrtOf && q.sqrtOf !== kT.sqrtOf)) return undefined;
  let scale = scores.factor * q.factor * kT.factor;
  if (q.sqrtOf) {
    const s = index.scalar(q.sqrtOf);
    scale *= s === undefined ? 1 / Math.sqrt(headDim) : s;
  }

  // Merge heads: Transpose(0,2,1,3) → Reshape([·, ·, heads·headDim]).
  const merge = index.soleConsumer(av.output![0]!);
  if (!samePerm(merge, [0, 2, 1, 3])) return undefined;
  const reshape = index.soleConsumer(merge!.output![0]!);
  if (reshape?.opType !== 'Reshape') return undefined;
  const outShape = index.shapeValues(reshape.input![1]!);
  if (!outShape || outShape.length !== 3 || (outShape[2] !== undefined && outShape[2] !== heads * headDim)) return undefined;

  const standard = 1 / Math.sqrt(headDim);
  return {
    match: {
      query: query.x3,
      key: key.x3,
      value: value.x3,
      output: reshape.output![0]!,
      heads,
      ...(Math.abs(scale - standard) > 1e-6 * standard ? { scale } : {}),
    },
    removed: [av, merge!, reshape],
  };
}

/** Drop nodes whose outputs nobody reads (the split/merge/score chain a fused block leaves behind). */
function removeDeadNodes(graph: Graph): void {
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  let nodes = graph.node ?? [];
  for (;;) {
    const used = new Set<string>(outputs);
    for (const n of nodes) for (const i of n.input ?? []) if (i) used.add(i);
    const kept = nodes.filter((n) => (n.output ?? []).some((o) => used.has(o)));
    if (kept.length === nodes.length) break;
    nodes = kept;
  }
  graph.node = nodes;
  const used = new Set<string>();
  for (const n of nodes) for (const i of n.input ?? []) used.add(i);
  graph.initializer = (graph.initializer ?? []).filter((t) => used.has(t.name ?? '') || outputs.has(t.name ?? ''));
}

/** Rewrite every recognised attention block of `model` in place. */
export function fuseAttention(model: Model): AttentionFusionResult {
  const graph = model.graph;
  if (!graph) return { fused: 0, unmatched: 0 };
  const index = new GraphIndex(graph);
  const softmaxes = (graph.node ?? []).filter((n) => n.opType === 'Softmax');
  const replacements = new Map<Node, Node>();
  let fused = 0;
  for (const softmax of softmaxes) {
    const found = matchAt(index, softmax);
    if (!found) continue;
    const { match } = found;
    const attribute: onnxProto.onnx.IAttributeProto[] = [{ name: 'num_heads', type: ATTRIBUTE_INT, i: match.heads }];
    if (match.scale !== undefined) attribute.push({ name: 'scale', type: ATTRIBUTE_FLOAT, f: match.scale });
    const fusedNode: Node = {
      opType: 'MultiHeadAttention',
      domain: MS_DOMAIN,
      name: `pmg_fused_attention_${fused}`,
      input: [match.query, match.key, match.value],
      output: [match.output],
      attribute,
    };
    // The fused node takes the place of the Reshape that produced the block's output (graph order stays valid).
    replacements.set(found.removed[2]!, fusedNode);
    fused++;
  }
  if (fused === 0) return { fused: 0, unmatched: softmaxes.length };
  graph.node = (graph.node ?? []).map((n) => replacements.get(n) ?? n);
  removeDeadNodes(graph);
  if (!(model.opsetImport ?? []).some((o) => o.domain === MS_DOMAIN)) {
    model.opsetImport = [...(model.opsetImport ?? []), { domain: MS_DOMAIN, version: 1 }];
  }
  return { fused, unmatched: softmaxes.length - fused };
}
