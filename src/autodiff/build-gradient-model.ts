/**
 * Reverse-mode gradient graphs of frozen ONNX models (issue 12, docs/autodiff.md): the forward graph is kept as it
 * is; the nodes on a path from a differentiated input to the output get backward nodes appended in reverse
 * topological order (cotangents that fan out are summed), and the graph gains the head's input and the outputs
 * `grad_<input>` (and `loss` for the MSE head). Weights stay constants: only activation gradients are computed.
 */
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { PmgError } from '../errors/pmg-error.js';
import { DataType, type DataTypeCode } from '../fixtures/onnx-graph.js';
import { valueInfo } from '../fixtures/onnx-proto-parts.js';
import { nodeLabel } from '../runtime/onnx-graph-index.js';
import type { GradientGraphOptions } from '../spec/gradient.js';
import { Emitter, isFloatType } from './emitter.js';
import { attrInt, GraphFacts } from './graph-facts.js';
import type { Node, RuleContext } from './rule.js';
import { SegmentRecompute } from './recompute.js';
import { NON_DIFFERENTIABLE, RULES } from './rules.js';

const { onnx } = onnxProto;
type Model = onnxProto.onnx.IModelProto;
type ValueInfo = onnxProto.onnx.IValueInfoProto;

/** The lowest opset the backward nodes need (ScatterElements with reduction 'add'). */
const MIN_OPSET = 16;

/** The graph output holding the gradient of `input`. */
export function gradientName(input: string): string {
  return `grad_${input.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** The graph input the head reads: the output's cotangent, or its MSE target. */
export function headInputName(options: Pick<GradientGraphOptions, 'output' | 'head'>): string {
  return options.head === 'mse' ? `${options.output.replace(/[^A-Za-z0-9_]/g, '_')}_target` : gradientName(options.output);
}

export const LOSS_OUTPUT = 'loss';

/**
 * Build the gradient graph of `model` (ONNX bytes, or a path) for `options`; returns the new model's bytes. External
 * data references are kept as they are: the new graph must sit beside the original's data files to load.
 */
export function buildGradientModel(model: Uint8Array | string, options: GradientGraphOptions): Uint8Array {
  const what = typeof model === 'string' ? model : 'the model';
  const proto = onnx.ModelProto.decode(typeof model === 'string' ? readFileSync(model) : model);
  gradientGraph(proto, options, what);
  return onnx.ModelProto.encode(proto).finish();
}

/** What a gradient graph differentiates (for `pmg models grad-check` and logs). */
export interface GradientGraphSummary {
  /** Forward nodes that got backward nodes, by op type. */
  differentiated: Record<string, number>;
  /** Backward nodes added (recomputed copies included). */
  backwardNodes: number;
  /** Forward nodes kept (the whole forward graph but what only other outputs needed). */
  forwardNodes: number;
}

/** Rewrite `model` in place into its gradient graph (see buildGradientModel); `what` names it in messages. */
export function gradientGraph(model: Model, options: GradientGraphOptions, what = 'the model'): GradientGraphSummary {
  const fail = (why: string, code: 'invalid-argument' | 'model-layout' | 'unsupported' = 'invalid-argument'): never => {
    throw new PmgError(code, `cannot build the gradient graph of ${what}: ${why}`, { details: { model: what } });
  };
  const graph = model.graph ?? fail('it has no graph', 'model-layout');
  const defaultOpset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = Number(defaultOpset?.version ?? 0);
  if (opset < 13) fail(`its opset is ${opset}; pmg builds gradient graphs of opset 13 or later (re-export the model at opset 17)`, 'unsupported');
  if (opset < MIN_OPSET) defaultOpset!.version = MIN_OPSET;
  const checkpoint = options.checkpointSegments ?? 1;
  if (!Number.isInteger(checkpoint) || checkpoint < 1) fail(`checkpointSegments must be a whole number ≥ 1, got ${checkpoint}`);
  if (options.head !== 'cotangent' && options.head !== 'mse') fail(`head must be 'cotangent' or 'mse', got '${String(options.head)}'`);
  const inputs = new Map((graph.input ?? []).map((v) => [v.name ?? '', v]));
  const outputInfo =
    (graph.output ?? []).find((v) => v.name === options.output) ??
    fail(`it has no output '${options.output}' (outputs: ${(graph.output ?? []).map((v) => v.name).join(', ')})`);
  if (options.wrt.length === 0) fail('wrt names no input to differentiate');
  const facts = new GraphFacts(graph, Math.max(opset, MIN_OPSET));
  for (const name of options.wrt) {
    if (!inputs.has(name)) fail(`it has no input '${name}' to differentiate (inputs: ${[...inputs.keys()].join(', ')})`);
    if (!isFloatType(facts.type(name))) fail(`input '${name}' is not a float tensor, so it has no gradient`);
  }
  const gradNames = options.wrt.map(gradientName);
  if (new Set(gradNames).size !== gradNames.length) fail(`the inputs ${options.wrt.join(', ')} give clashing gradient names`);
  const floatType = facts.type(options.output) ?? facts.type(options.wrt[0]!)!;
  if (!isFloatType(floatType)) fail(`output '${options.output}' is not a float tensor`);

  // Forward: the values that depend on a differentiated input through differentiable ops.
  const nodes = graph.node ?? [];
  const active = new Set(options.wrt);
  for (const node of nodes) {
    const op = node.opType ?? '';
    if (!(node.input ?? []).some((i) => active.has(i))) continue;
    if (NON_DIFFERENTIABLE.has(op) || (op === 'Cast' && !isFloatType(attrInt(node, 'to', 0)))) continue;
    for (const out of node.output ?? []) if (out && (facts.type(out) === undefined || isFloatType(facts.type(out)))) active.add(out);
  }
  if (!active.has(options.output)) fail(`output '${options.output}' does not depend on ${options.wrt.join(', ')}`);
  // Backward: the active nodes on a path to the output, in reverse order.
  const needed = new Set([options.output]);
  const path: Node[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!(node.output ?? []).some((o) => needed.has(o)) || !(node.input ?? []).some((x) => active.has(x))) continue;
    if (NON_DIFFERENTIABLE.has(node.opType ?? '') || (node.opType === 'Cast' && !isFloatType(attrInt(node, 'to', 0)))) continue;
    path.push(node);
    for (const x of node.input ?? []) if (active.has(x)) needed.add(x);
  }
  const contrib = path.filter((n) => n.domain && n.domain !== 'ai.onnx').reverse();
  if (contrib.length) {
    const types = [...new Set(contrib.map((n) => `${n.domain}.${n.opType}`))].sort().join(', ');
    fail(
      `contrib ops on the differentiated path (${types}: ${listed(contrib)}), which pmg does not differentiate; export the model with standard ONNX ops (no fused attention, no MatMulNBits; for a UNet use the original model.onnx, not pmg's attention-fused model.fused.onnx)`,
      'unsupported',
    );
  }
  const missing = path.filter((n) => !RULES[n.opType ?? '']).reverse();
  if (missing.length) {
    const types = [...new Set(missing.map((n) => n.opType))].sort().join(', ');
    fail(`no gradient rule for ${types} (${listed(missing)})`, 'unsupported');
  }

  const taken = new Set<string>([
    ...inputs.keys(),
    ...(graph.initializer ?? []).map((t) => t.name ?? ''),
    ...nodes.flatMap((n) => [...(n.output ?? []), n.name ?? '']),
  ]);
  const headName = headInputName(options);
  for (const name of [headName, ...gradNames, ...(options.head === 'mse' ? [LOSS_OUTPUT] : [])]) {
    if (taken.has(name)) fail(`it already has a value named '${name}'`, 'model-layout');
    taken.add(name);
  }
  const e = new Emitter(taken, Math.max(opset, MIN_OPSET));
  // The head input has the output's type and shape (no shape where the graph declares none).
  const newInputs: ValueInfo[] = [{ name: headName, type: { tensorType: { ...outputInfo.type!.tensorType!, elemType: floatType } } }];
  const newOutputs: ValueInfo[] = [outputInfo];
  let cotangent: string;
  if (options.head === 'mse') {
    const diff = e.op('Sub', [options.output, headName]);
    e.node('ReduceMean', [e.op('Mul', [diff, diff])], { keepdims: { int: 0 } }, [LOSS_OUTPUT]);
    newOutputs.push(valueInfo(LOSS_OUTPUT, floatType as DataTypeCode, []));
    cotangent = e.op('Mul', [diff, e.op('Div', [e.scalar(2, floatType), e.count(options.output, floatType)])]);
  } else cotangent = headName;

  const cotangents = new Map<string, string[]>([[options.output, [cotangent]]]);
  const gathered = (name: string): string | undefined => {
    const terms = cotangents.get(name);
    if (!terms?.length) return undefined;
    const total = e.sum(terms);
    cotangents.set(name, [total]);
    return total;
  };
  const recompute = checkpoint > 1 ? new SegmentRecompute([...path].reverse(), checkpoint, e, facts, active) : undefined;
  for (const node of path) {
    const grads = (node.output ?? []).map((o) => (o ? gathered(o) : undefined));
    const firstIndex = grads.findIndex((g) => g !== undefined);
    if (firstIndex < 0) continue;
    const ins = node.input ?? [];
    // The values the rule reads: the node's own, or its segment's recomputed copy (checkpointSegments > 1).
    const view = recompute ? recompute.view(node, grads[firstIndex]!, facts.type(node.output![firstIndex]!) ?? floatType) : node;
    const ctx: RuleContext = {
      node: view,
      e,
      facts,
      floatType: isFloatType(facts.type(node.output?.[0] ?? '')) ? facts.type(node.output![0]!)! : floatType,
      input: (i) => (view.input ?? [])[i] ?? '',
      output: (i) => (view.output ?? [])[i] ?? '',
      needs: (i) => !!ins[i] && active.has(ins[i]!),
      refuse: (why) => fail(`${nodeLabel(node)}: ${why}`, 'unsupported'),
    };
    const back = RULES[node.opType ?? '']!(ctx, grads);
    back.forEach((g, i) => {
      if (!g || !ctx.needs(i)) return;
      const list = cotangents.get(ins[i]!) ?? [];
      list.push(g);
      cotangents.set(ins[i]!, list);
    });
  }
  options.wrt.forEach((name, i) => {
    const type = facts.type(name)! as DataTypeCode;
    e.node('Identity', [gathered(name) ?? e.zerosLike(name, type)], {}, [gradNames[i]!]);
    newOutputs.push({ ...inputs.get(name)!, name: gradNames[i]! });
  });

  graph.node = pruneDead([...nodes, ...e.nodes], new Set(newOutputs.map((v) => v.name ?? '')));
  const added = new Set(e.nodes);
  const differentiated: Record<string, number> = {};
  for (const node of path) differentiated[node.opType ?? ''] = (differentiated[node.opType ?? ''] ?? 0) + 1;
  graph.initializer = [...(graph.initializer ?? []), ...e.initializers];
  graph.input = [...(graph.input ?? []), ...newInputs];
  graph.output = newOutputs;
  const backwardNodes = graph.node.filter((n) => added.has(n)).length;
  return { differentiated, backwardNodes, forwardNodes: graph.node.length - backwardNodes };
}

/** The first few nodes' labels, and how many more. */
function listed(nodes: Node[]): string {
  return `${nodes.slice(0, 6).map(nodeLabel).join('; ')}${nodes.length > 6 ? `; and ${nodes.length - 6} more` : ''}`;
}

/** The nodes some wanted output depends on (the forward's other outputs, e.g. present.*, and what only they need go). */
function pruneDead(nodes: Node[], wanted: Set<string>): Node[] {
  const kept: Node[] = [];
  const needed = new Set(wanted);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!(node.output ?? []).some((o) => needed.has(o))) continue;
    kept.push(node);
    for (const x of node.input ?? []) if (x) needed.add(x);
    for (const a of node.attribute ?? [])
      for (const g of [a.g, ...(a.graphs ?? [])]) for (const inner of g?.node ?? []) for (const x of inner.input ?? []) needed.add(x);
  }
  return kept.reverse();
}

export { DataType };
