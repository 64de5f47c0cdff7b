/**
 * Rewrites a transformers.js/Optimum text-generation graph (input_ids, attention_mask, [position_ids],
 * past_key_values.* → logits, present.*) into an LLM body for the soft preference branch:
 *
 *  1. the embedding lookup — a Gather on the table with input_ids — goes; its output becomes a graph input
 *     `inputs_embeds` [batch, sequence, hidden] (the table is read by onnx-embedding-table.ts; an int8/uint8 table
 *     with DequantizeLinear, before or after the Gather, is recognised; a GatherBlockQuantized is refused);
 *  2. the final-norm output becomes the output `last_hidden_state`: kept when the graph already has it, else found as
 *     the activation input of the LM head (a MatMul/Gemm on a weight, MatMulNBits, or the q8 DynamicQuantizeLinear →
 *     MatMulInteger form, behind any Cast) and checked to come from an RMSNorm/LayerNorm (a fused normalization op,
 *     or the decomposed form's last Mul/Add with a 1-D weight);
 *  3. logits and every other output but present.* go, then every node, initializer and input nothing needs any more
 *     (input_ids; position_ids stays when the rotary embedding reads it).
 *
 * External-data references of the tensors that stay are kept as they are (the caller places the data file beside
 * the new graph). What it cannot rewrite is one `model-layout` line naming the node or the pattern it did not find.
 */
import onnxProto from 'onnx-proto';
import { PmgError } from '../errors/pmg-error.js';
import { findEmbeddingTable, type EmbeddingTableSource } from './onnx-embedding-table.js';
import { GraphIndex, nodeLabel } from './onnx-graph-index.js';

type Model = onnxProto.onnx.IModelProto;
type Graph = onnxProto.onnx.IGraphProto;
type Node = onnxProto.onnx.INodeProto;

export const SOFT_HIDDEN_OUTPUT = 'last_hidden_state';
export const SOFT_EMBEDS_INPUT = 'inputs_embeds';

/** Ops that normalize the residual stream (fused forms onnxruntime and exporters write). */
const NORM_OPS = new Set([
  'SimplifiedLayerNormalization',
  'SkipSimplifiedLayerNormalization',
  'LayerNormalization',
  'SkipLayerNormalization',
  'RMSNormalization',
]);
/** Ops a value passes through unchanged in meaning between the final norm and the LM head / logits. */
const PASS_THROUGH = new Set(['Cast', 'Identity']);

export interface SoftRewrite {
  table: EmbeddingTableSource;
  /** How the hidden-state output was found, for the record (pmg-body.json) and messages. */
  hiddenFrom: string;
  /** Whether the rewritten graph still takes position_ids. */
  positions: boolean;
  /** The graph's past_key_values inputs, in graph order. */
  pastInputs: string[];
  removed: { inputs: string[]; outputs: string[]; nodes: number; initializers: number };
}

/** Every value name a node reads, its subgraphs' outer-scope reads included. */
function readsOf(node: Node): string[] {
  const names = [...(node.input ?? [])];
  for (const a of node.attribute ?? []) for (const g of [a.g, ...(a.graphs ?? [])]) if (g) for (const inner of g.node ?? []) names.push(...readsOf(inner));
  return names.filter((name) => name !== '');
}

/** Replace every read of `from` by `to`, in subgraphs too. */
function renameReads(nodes: Node[] | null | undefined, from: string, to: string): void {
  for (const node of nodes ?? []) {
    node.input = (node.input ?? []).map((name) => (name === from ? to : name));
    for (const a of node.attribute ?? []) for (const g of [a.g, ...(a.graphs ?? [])]) if (g) renameReads(g.node, from, to);
  }
}

/** Rewrite `model` in place; `graphDir` is its folder (external data), `what` names it in messages. */
export function rewriteForSoft(model: Model, graphDir: string, what: string): SoftRewrite {
  const fail = (why: string): never => {
    throw new PmgError('model-layout', `cannot make an LLM body of ${what}: ${why}`, { details: { model: what } });
  };
  const graph = model.graph;
  if (!graph) return fail('it has no graph');
  const inputNames = (graph.input ?? []).map((v) => v.name ?? '');
  if (inputNames.includes(SOFT_EMBEDS_INPUT))
    fail(`it already takes ${SOFT_EMBEDS_INPUT} (is it an LLM body already? load it with genai_config.json or pmg-body.json beside it)`);
  const idsInput = (graph.input ?? []).find((v) => v.name === 'input_ids');
  if (!idsInput) fail(`it has no input_ids input (inputs: ${inputNames.join(', ')}); pmg rewrites text-generation exports that take token ids`);
  const index = new GraphIndex(graph);
  const table = findEmbeddingTable(index, graphDir, fail);
  const hidden = table.hidden;

  // input_ids is replaced by inputs_embeds; readers other than the lookup must be able to read the new input.
  const lookupNodes = new Set(table.nodes);
  for (const node of index.consumers.get('input_ids') ?? []) {
    if (lookupNodes.has(node)) continue;
    if (node.opType !== 'Shape' || (node.domain ?? '') !== '')
      fail(`input_ids also feeds ${nodeLabel(node)}, which pmg cannot rewrite to read ${SOFT_EMBEDS_INPUT}`);
    // Shape(input_ids)[start:end] = Shape(inputs_embeds)[start:end] with the bounds taken against rank 2.
    const bound = (name: string, fallback: number): number => {
      const value = Number((node.attribute ?? []).find((a) => a.name === name)?.i ?? fallback);
      return Math.min(2, Math.max(0, value < 0 ? value + 2 : value));
    };
    const INT = onnxProto.onnx.AttributeProto.AttributeType.INT;
    node.input = [SOFT_EMBEDS_INPUT];
    node.attribute = [
      ...(node.attribute ?? []).filter((a) => a.name !== 'start' && a.name !== 'end'),
      { name: 'start', type: INT, i: bound('start', 0) },
      { name: 'end', type: INT, i: bound('end', 2) },
    ];
  }
  for (const node of graph.node ?? []) {
    if (!lookupNodes.has(node) && node.opType !== 'Shape' && readsOf(node).includes('input_ids') && !(node.input ?? []).includes('input_ids'))
      fail(`a subgraph of ${nodeLabel(node)} reads input_ids`);
  }
  const idsDims = idsInput!.type?.tensorType?.shape?.dim ?? [];
  const dim = (i: number, fallback: string) =>
    idsDims[i]?.dimParam ? { dimParam: idsDims[i]!.dimParam } : idsDims[i]?.dimValue ? { dimValue: idsDims[i]!.dimValue } : { dimParam: fallback };
  const embedsInfo: onnxProto.onnx.IValueInfoProto = {
    name: SOFT_EMBEDS_INPUT,
    type: { tensorType: { elemType: table.floatType, shape: { dim: [dim(0, 'batch_size'), dim(1, 'sequence_length'), { dimValue: hidden }] } } },
  };
  renameReads(graph.node, table.output, SOFT_EMBEDS_INPUT);
  graph.input = (graph.input ?? []).map((v) => (v.name === 'input_ids' ? embedsInfo : v));

  // The hidden-state output.
  let hiddenFrom: string;
  if ((graph.output ?? []).some((o) => o.name === SOFT_HIDDEN_OUTPUT)) {
    hiddenFrom = `the graph's own ${SOFT_HIDDEN_OUTPUT} output`;
  } else {
    const found = findFinalNorm(index, table.output, fail);
    hiddenFrom = found.description;
    graph.node = [
      ...(graph.node ?? []),
      {
        opType: 'Identity',
        domain: '',
        name: 'pmg/last_hidden_state',
        input: [found.value === table.output ? SOFT_EMBEDS_INPUT : found.value],
        output: [SOFT_HIDDEN_OUTPUT],
      },
    ];
    graph.output = [
      ...(graph.output ?? []),
      {
        name: SOFT_HIDDEN_OUTPUT,
        type: {
          tensorType: { elemType: found.elemType ?? table.floatType, shape: { dim: [dim(0, 'batch_size'), dim(1, 'sequence_length'), { dimValue: hidden }] } },
        },
      },
    ];
  }
  const removedOutputs = (graph.output ?? []).map((o) => o.name ?? '').filter((name) => name !== SOFT_HIDDEN_OUTPUT && !name.startsWith('present.'));
  graph.output = (graph.output ?? []).filter((o) => !removedOutputs.includes(o.name ?? ''));

  // Keep what the outputs need; the body's interface inputs stay even when unused.
  const needed = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const nodes = graph.node ?? [];
  const keep = new Array<boolean>(nodes.length).fill(false);
  for (let changed = true; changed;) {
    changed = false;
    for (let i = nodes.length - 1; i >= 0; i--) {
      if (keep[i] || !(nodes[i]!.output ?? []).some((o) => needed.has(o))) continue;
      keep[i] = true;
      changed = true;
      for (const name of readsOf(nodes[i]!)) needed.add(name);
    }
  }
  const before = { nodes: nodes.length, initializers: (graph.initializer ?? []).length };
  graph.node = nodes.filter((_, i) => keep[i]);
  graph.initializer = (graph.initializer ?? []).filter((t) => needed.has(t.name ?? ''));
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => needed.has(v.name ?? ''));
  const interfaceInput = (name: string) => name === SOFT_EMBEDS_INPUT || name === 'attention_mask' || name.startsWith('past_key_values.');
  const removedInputs = ['input_ids', ...(graph.input ?? []).map((v) => v.name ?? '').filter((name) => !interfaceInput(name) && !needed.has(name))];
  graph.input = (graph.input ?? []).filter((v) => !removedInputs.includes(v.name ?? ''));
  if (!needed.has(SOFT_EMBEDS_INPUT)) fail(`nothing the hidden states depend on reads the embedding lookup's output`);
  if (!(graph.input ?? []).some((v) => v.name === 'attention_mask')) fail('it has no attention_mask input');
  const pastInputs = (graph.input ?? []).map((v) => v.name ?? '').filter((name) => name.startsWith('past_key_values.'));
  return {
    table,
    hiddenFrom,
    positions: (graph.input ?? []).some((v) => v.name === 'position_ids'),
    pastInputs,
    removed: {
      inputs: removedInputs,
      outputs: removedOutputs,
      nodes: before.nodes - graph.node.length,
      initializers: before.initializers - graph.initializer.length,
    },
  };
}

interface FinalNorm {
  value: string;
  elemType?: number;
  description: string;
}

/**
 * The activation the LM head reads (the final norm's output), found from `logits` backwards. `embedsOutput` is the
 * lookup's old output name: reaching it means the graph has no layers to speak of.
 */
function findFinalNorm(index: GraphIndex, embedsOutput: string, fail: (why: string) => never): FinalNorm {
  const logits = (index.graph.output ?? []).find((o) => o.name === 'logits');
  if (!logits) fail(`it has neither a ${SOFT_HIDDEN_OUTPUT} nor a logits output, so pmg cannot find the final hidden states`);
  let value = 'logits';
  let head: Node | undefined;
  let activation: string | undefined;
  for (let steps = 0; steps < 16 && !activation; steps++) {
    const node = index.producer.get(value);
    if (!node) fail(`${value} is not computed by a node, so pmg cannot find the LM head`);
    head = node;
    const op = node!.opType ?? '';
    const inputs = (node!.input ?? []).filter((name) => name !== '');
    const dynamic = inputs.filter((name) => !index.isConstant(name));
    if (PASS_THROUGH.has(op) || ((op === 'Mul' || op === 'Add' || op === 'Reshape') && dynamic.length >= 1)) {
      // Casts, the q8 form's rescaling Muls and a bias Add sit between the head and logits: follow the product.
      const next = dynamic.find((name) => leadsToMatMul(index, name)) ?? dynamic[0];
      if (!next) break;
      value = next;
      continue;
    }
    if ((op === 'MatMul' || op === 'Gemm' || op === 'FusedMatMul') && dynamic.length === 1) activation = dynamic[0];
    else if (op === 'MatMulNBits' || op === 'MatMulBnb4' || op === 'MatMulFpQ4' || op === 'DynamicQuantizeMatMul') activation = inputs[0];
    else if (op === 'MatMulInteger' || op === 'MatMulIntegerToFloat') {
      const quantize = index.producer.get(inputs[0] ?? '');
      if (quantize?.opType !== 'DynamicQuantizeLinear') fail(`the LM head ${nodeLabel(node!)} reads ${inputs[0]}, which no DynamicQuantizeLinear makes`);
      activation = quantize!.input?.[0];
    } else break;
  }
  if (!activation || !head)
    fail(
      `cannot find the LM head: logits comes from ${head ? nodeLabel(head) : 'nowhere'}, not from a MatMul/Gemm on a weight, MatMulNBits or the q8 MatMulInteger form`,
    );
  // Step back over casts to the normalization itself.
  let normValue = activation!;
  for (let node = index.producer.get(normValue); node && PASS_THROUGH.has(node.opType ?? ''); node = index.producer.get(normValue)) normValue = node.input![0]!;
  if (normValue === embedsOutput || normValue === SOFT_EMBEDS_INPUT)
    fail(`the LM head ${nodeLabel(head!)} reads the embedding lookup directly; the graph has no decoder layers`);
  const norm = index.producer.get(normValue);
  if (!norm || !isNormOutput(index, norm)) {
    fail(
      `the LM head ${nodeLabel(head!)} reads ${activation}, which is not the output of a final RMSNorm/LayerNorm (it comes from ${norm ? nodeLabel(norm) : 'a graph input'})`,
    );
  }
  return { value: activation!, description: `the input of the LM head ${nodeLabel(head!)} (the output of ${nodeLabel(norm!)})` };
}

function leadsToMatMul(index: GraphIndex, name: string, depth = 0): boolean {
  const node = index.producer.get(name);
  if (!node || depth > 4) return false;
  if (/MatMul|Gemm/.test(node.opType ?? '')) return true;
  return (node.input ?? []).some((input) => input && !index.isConstant(input) && leadsToMatMul(index, input, depth + 1));
}

/** A fused normalization, or the last op of a decomposed one: Mul/Add with a constant 1-D weight (or (1 + w)). */
function isNormOutput(index: GraphIndex, node: Node): boolean {
  const op = node.opType ?? '';
  if (NORM_OPS.has(op)) return true;
  if (op !== 'Mul' && op !== 'Add') return false;
  return (node.input ?? []).some((name) => {
    if (!index.isConstant(name)) return false;
    const init = index.initializers.get(name);
    return !init || (init.dims ?? []).length === 1;
  });
}
