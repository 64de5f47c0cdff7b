/**
 * From a soft module's weights to the LLM's initial key/value cache (P-Tuning v2, method.md §3).
 *
 * The prefix table has one row of width layers·2·kvHeads·headDim per prefix position. Its layout is PEFT's (and
 * P-Tuning v2's) `get_prompt`: the table [P, width] is viewed as [P, layers·2, kvHeads, headDim], permuted with
 * [2, 0, 3, 1, 4] to [layers·2, batch, kvHeads, P, headDim] and split in pairs, so layer l's keys are slot 2l and its
 * values slot 2l+1, each `[1, kvHeads, P, headDim]` (spec/llm-body.ts PrefixCache). In a row, the value for layer l,
 * key (0) or value (1), head h and channel d sits at ((2l + kv)·kvHeads + h)·headDim + d.
 *
 * With the 'mlp' reparameterisation the table is computed first, as P-Tuning v2's PrefixEncoder with
 * prefix_projection does: row p = Linear2(tanh(Linear0(embedding[p]))), each Linear y = x·Wᵀ + b as in PyTorch.
 */
import type { LlmBodyConfig, PrefixCache } from '../spec/llm-body.js';
import { prefixWidth } from './soft-config.js';
import type { SoftModule } from './soft-module.js';

/** y = x·Wᵀ + b for `rows` rows: x [rows, inputs], W [outputs, inputs], b [outputs] (PyTorch's nn.Linear). */
export function linearRows(x: Float32Array, rows: number, weight: Float32Array, bias: Float32Array): Float32Array {
  const outputs = bias.length;
  const inputs = weight.length / outputs;
  const y = new Float32Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    const xr = r * inputs;
    for (let o = 0; o < outputs; o++) {
      const wo = o * inputs;
      let sum = 0;
      for (let i = 0; i < inputs; i++) sum += x[xr + i]! * weight[wo + i]!;
      y[r * outputs + o] = sum + bias[o]!;
    }
  }
  return y;
}

/** The module's prefix table [P, layers·2·kvHeads·headDim] (the MLP reparameterisation applied when it has one). */
export function prefixTable(module: SoftModule): Float32Array {
  const { config, tensors } = module;
  if (!tensors.mlp) return tensors.prefix!;
  const hidden = linearRows(tensors.mlp.embedding, config.P, tensors.mlp.weight0, tensors.mlp.bias0);
  for (let i = 0; i < hidden.length; i++) hidden[i] = Math.tanh(hidden[i]!);
  return linearRows(hidden, config.P, tensors.mlp.weight2, tensors.mlp.bias2);
}

/** The key/value cache of a prefix table [P, layers·2·kvHeads·headDim] in PEFT's layout (see the header). */
export function prefixCacheOf(table: Float32Array, P: number, shape: Pick<LlmBodyConfig, 'layers' | 'kvHeads' | 'headDim'>): PrefixCache {
  const { layers, kvHeads, headDim } = shape;
  const width = prefixWidth(shape);
  const keys: PrefixCache['keys'] = [];
  const values: PrefixCache['values'] = [];
  for (let l = 0; l < layers; l++) {
    for (const kv of [0, 1]) {
      const slot = 2 * l + kv;
      const data = new Float32Array(kvHeads * P * headDim);
      for (let h = 0; h < kvHeads; h++) {
        for (let p = 0; p < P; p++) {
          const from = p * width + (slot * kvHeads + h) * headDim;
          data.set(table.subarray(from, from + headDim), (h * P + p) * headDim);
        }
      }
      (kv === 0 ? keys : values).push({ data, dims: [1, kvHeads, P, headDim] });
    }
  }
  return { keys, values };
}

/** The module's prefix as the LLM's initial cache (undefined when P = 0). */
export function modulePrefixCache(module: SoftModule): PrefixCache | undefined {
  if (module.config.P === 0) return undefined;
  return prefixCacheOf(prefixTable(module), module.config.P, module.config);
}
