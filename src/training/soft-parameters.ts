/**
 * The soft module's trainable parameters as the trainer holds them (a record of flat float32 arrays, the names the
 * checkpoint stores), and the JS parts of the full variant's backward pass (issue 12 §2, docs/training.md):
 *  - the prefix key/value cache's gradient back to the prefix table (the inverse of prefix-cache.ts's PEFT layout);
 *  - the 'mlp' reparameterisation (row = Linear2(tanh(Linear0(embedding)))) backward to its five tensors.
 * Names: 'map.weight', 'map.bias' (always); 'tokens' (unless frozen); 'prefix' or 'mlp.embedding', 'mlp.weight0',
 * 'mlp.bias0', 'mlp.weight2', 'mlp.bias2' (unless frozen or P = 0).
 */
import type { PrefixCache } from '../spec/llm-body.js';
import { prefixWidth, type SoftConfig } from '../soft/soft-config.js';
import { linearRows } from '../soft/prefix-cache.js';
import type { SoftTensors } from '../soft/soft-module.js';
import { addLinearGradients, linearInputGradients } from './map-gradient.js';

export type SoftShape = Pick<SoftConfig, 'P' | 'N' | 'hidden' | 'layers' | 'kvHeads' | 'headDim'>;
export type Params = Record<string, Float32Array>;

const MLP_NAMES = ['embedding', 'weight0', 'bias0', 'weight2', 'bias2'] as const;

/** Copies of the tensors that are trained: the map; the tokens unless `noTokens`; the prefix unless `noPrefix` or P = 0. */
export function trainableParams(tensors: SoftTensors, train: { prefix: boolean; tokens: boolean }): Params {
  const params: Params = { 'map.weight': Float32Array.from(tensors.mapWeight), 'map.bias': Float32Array.from(tensors.mapBias) };
  if (train.tokens) params['tokens'] = Float32Array.from(tensors.tokens);
  if (train.prefix && tensors.mlp) for (const name of MLP_NAMES) params[`mlp.${name}`] = Float32Array.from(tensors.mlp[name]);
  else if (train.prefix && tensors.prefix && tensors.prefix.length > 0) params['prefix'] = Float32Array.from(tensors.prefix);
  return params;
}

/** True when `params` trains the prefix (a table or its MLP). */
export function trainsPrefix(params: Params): boolean {
  return 'prefix' in params || 'mlp.embedding' in params;
}

/** The module's tensors with the trained ones replaced by `params` (the frozen ones shared, not copied). */
export function tensorsWith(tensors: SoftTensors, params: Params): SoftTensors {
  const out: SoftTensors = { ...tensors, mapWeight: params['map.weight']!, mapBias: params['map.bias']! };
  if (params['tokens']) out.tokens = params['tokens'];
  if (params['prefix']) out.prefix = params['prefix'];
  if (params['mlp.embedding'] && tensors.mlp) out.mlp = Object.fromEntries(MLP_NAMES.map((n) => [n, params[`mlp.${n}`]!])) as NonNullable<SoftTensors['mlp']>;
  return out;
}

/** The prefix table [P, width], and the MLP's tanh activations [P, prefixHidden] its backward needs ('mlp' only). */
export function prefixForward(tensors: SoftTensors, P: number): { table: Float32Array; activations?: Float32Array } {
  if (!tensors.mlp) return { table: tensors.prefix! };
  const activations = linearRows(tensors.mlp.embedding, P, tensors.mlp.weight0, tensors.mlp.bias0);
  for (let i = 0; i < activations.length; i++) activations[i] = Math.tanh(activations[i]!);
  return { table: linearRows(activations, P, tensors.mlp.weight2, tensors.mlp.bias2), activations };
}

/** The gradient of the prefix table [P, width] from the gradients of the cache it became (prefixCacheOf's inverse). */
export function prefixTableGradients(cache: PrefixCache, shape: SoftShape): Float32Array {
  const { P, layers, kvHeads, headDim } = shape;
  const width = prefixWidth(shape);
  const table = new Float32Array(P * width);
  for (let l = 0; l < layers; l++) {
    for (const kv of [0, 1]) {
      const data = (kv === 0 ? cache.keys : cache.values)[l]!.data;
      const slot = 2 * l + kv;
      for (let h = 0; h < kvHeads; h++) {
        for (let p = 0; p < P; p++) {
          const from = (h * P + p) * headDim;
          table.set(data.subarray(from, from + headDim), p * width + (slot * kvHeads + h) * headDim);
        }
      }
    }
  }
  return table;
}

/** Accumulate the prefix parameters' gradients ('prefix', or the MLP's five) from the table's gradient. */
export function addPrefixGradients(grads: Params, tableGrad: Float32Array, tensors: SoftTensors, P: number, activations?: Float32Array): void {
  if (grads['prefix']) {
    const into = grads['prefix'];
    for (let i = 0; i < into.length; i++) into[i] = into[i]! + tableGrad[i]!;
    return;
  }
  const mlp = tensors.mlp!;
  const width = mlp.bias2.length;
  const hidden = mlp.bias0.length;
  addLinearGradients(grads['mlp.weight2']!, grads['mlp.bias2']!, tableGrad, activations!, P);
  const dActivations = linearInputGradients(tableGrad, P, mlp.weight2, width);
  for (let i = 0; i < dActivations.length; i++) dActivations[i] = dActivations[i]! * (1 - activations![i]! ** 2);
  addLinearGradients(grads['mlp.weight0']!, grads['mlp.bias0']!, dActivations, mlp.embedding, P);
  const dEmbedding = linearInputGradients(dActivations, P, mlp.weight0, hidden);
  const into = grads['mlp.embedding']!;
  for (let i = 0; i < into.length; i++) into[i] = into[i]! + dEmbedding[i]!;
}

/** Zero gradients shaped like `params`. */
export function zeroGradients(params: Params): Params {
  return Object.fromEntries(Object.entries(params).map(([name, values]) => [name, new Float32Array(values.length)]));
}
