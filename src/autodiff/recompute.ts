/**
 * Checkpointing (`checkpointSegments` S > 1): the differentiated nodes are cut into S segments in graph order. The
 * backward of every segment but the last reads a *recomputed copy* of the segment's forward nodes instead of the
 * originals, so onnxruntime frees the originals' activations as soon as the forward has used them; only the values
 * that cross into a segment (its boundaries, and the skip connections that cross it) stay alive. The copy must not
 * run before that segment's backward: its boundary inputs are `x + 0·g₀`, where g₀ is one element of a cotangent the
 * segment's backward starts from, a data dependency onnxruntime has to respect (exact for finite values).
 */
import type { Emitter } from './emitter.js';
import type { GraphFacts } from './graph-facts.js';
import type { Node } from './rule.js';

export class SegmentRecompute {
  private readonly segmentOf = new Map<Node, number>();
  private readonly segments: Node[][] = [];
  private readonly copies = new Map<Node, Node>();

  /** `forward`: the differentiated nodes in graph order; `active`: values that depend on a differentiated input. */
  constructor(
    forward: readonly Node[],
    count: number,
    private readonly e: Emitter,
    private readonly facts: GraphFacts,
    private readonly active: ReadonlySet<string>,
  ) {
    const size = Math.ceil(forward.length / count);
    forward.forEach((node, i) => {
      const k = Math.floor(i / size);
      (this.segments[k] ??= []).push(node);
      this.segmentOf.set(node, k);
    });
  }

  /**
   * The node the backward of `node` reads: its recomputed copy, made on first use after `cotangent` (a cotangent of
   * one of the node's outputs, of float type `cotangentType`) exists.
   */
  view(node: Node, cotangent: string, cotangentType: number): Node {
    const k = this.segmentOf.get(node);
    if (k === undefined || k === this.segments.length - 1) return node;
    if (!this.copies.has(node)) this.recompute(k, cotangent, cotangentType);
    return this.copies.get(node)!;
  }

  private recompute(k: number, cotangent: string, cotangentType: number): void {
    const { e } = this;
    const zero = e.op('Mul', [e.op('Gather', [e.op('Reshape', [cotangent, e.ints([-1])]), e.int(0)], { axis: { int: 0 } }), e.scalar(0, cotangentType)]);
    const renamed = new Map<string, string>();
    const boundary = (x: string): string => {
      if (!x || renamed.has(x)) return renamed.get(x) ?? x;
      if (!this.active.has(x)) return x;
      const type = this.facts.type(x);
      const dependency = type === undefined || type === cotangentType ? zero : e.op('Cast', [zero], { to: { int: type } });
      const held = e.op('Add', [x, dependency]);
      renamed.set(x, held);
      return held;
    };
    for (const node of this.segments[k]!) {
      const inputs = (node.input ?? []).map(boundary);
      const outputs = (node.output ?? []).map((o) => {
        if (!o) return '';
        const copy = e.fresh('recomputed');
        renamed.set(o, copy);
        const type = this.facts.type(o);
        if (type !== undefined) this.facts.types.set(copy, type);
        const rank = this.facts.rank(o);
        if (rank !== undefined) this.facts.ranks.set(copy, rank);
        return copy;
      });
      const copy: Node = { ...node, name: e.fresh(`recompute_${node.opType}`), input: inputs, output: outputs };
      e.nodes.push(copy);
      this.copies.set(node, copy);
    }
  }
}
