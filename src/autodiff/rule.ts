/**
 * A vector-Jacobian rule: given a forward node and the cotangents of its outputs (undefined where an output gets
 * none), emit backward nodes and return the cotangent of each input (undefined where the input needs none).
 */
import type onnxProto from 'onnx-proto';
import type { Emitter } from './emitter.js';
import type { GraphFacts } from './graph-facts.js';

export type Node = onnxProto.onnx.INodeProto;

export interface RuleContext {
  node: Node;
  e: Emitter;
  facts: GraphFacts;
  /** Input i of the node (its value name). */
  input(i: number): string;
  /** Output i of the node. */
  output(i: number): string;
  /** Whether input i needs a cotangent (it depends on a differentiated input). */
  needs(i: number): boolean;
  /** The float type of the node's differentiated values. */
  floatType: number;
  /** One-line refusal naming the node (what the rule cannot do). */
  refuse(why: string): never;
}

export type Rule = (ctx: RuleContext, grads: (string | undefined)[]) => (string | undefined)[];

/** The first output's cotangent, which single-output rules require. */
export function only(grads: (string | undefined)[]): string {
  return grads[0]!;
}
