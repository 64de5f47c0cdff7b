/**
 * Gradients of frozen ONNX models, as the soft-branch trainer uses them (issue 12, docs/training.md): a reverse-mode
 * gradient graph in standard ONNX ops, generated from a model's own graph and run by onnxruntime. Only activation
 * gradients: the model's weights are constants. Implementations: src/autodiff/.
 *
 * One run computes the forward pass and the vector-Jacobian products of `output` for the `wrt` inputs:
 *  - head 'cotangent': the caller gives the cotangent of `output` (same shape); grads = J^T · cotangent;
 *  - head 'mse': the caller gives a target of `output`'s shape; the run also returns
 *    loss = mean((output − target)²) over every element, and grads are d loss / d input.
 */
import type { FloatTensor } from './tensor.js';

export interface GradientGraphOptions {
  /** Float graph inputs to differentiate (e.g. `encoder_hidden_states`, or `inputs_embeds` and `past_key_values.*`). */
  wrt: readonly string[];
  /** The graph output whose vector-Jacobian product is taken (e.g. `out_sample`, `last_hidden_state`). */
  output: string;
  head: 'cotangent' | 'mse';
  /**
   * Forward activations the backward needs: 1 (default) keeps them all; S > 1 keeps only those at S − 1 segment
   * boundaries and recomputes each segment's forward during the backward (less memory, more time).
   */
  checkpointSegments?: number;
}

/** A feed: float32 data, or int64 / int32 (e.g. a timestep, an attention mask). */
export type GradientFeed = FloatTensor | { data: BigInt64Array | Int32Array; dims: number[] };

export interface GradientRun {
  /** The value of `output` in this run. */
  output: FloatTensor;
  /** head 'mse': mean((output − target)²). */
  loss?: number;
  /** One gradient per `wrt` input, same shape as the input. */
  grads: Record<string, FloatTensor>;
}

export interface GradientSession {
  readonly options: Readonly<GradientGraphOptions>;
  /**
   * `feeds`: every graph input the forward needs. `head`: `{ cotangent }` or `{ target }`, as the options say.
   */
  run(feeds: Record<string, GradientFeed>, head: { cotangent: FloatTensor } | { target: FloatTensor }): Promise<GradientRun>;
  close(): Promise<void>;
}
