/**
 * For the LLM-body tests: the fixture folders of both routes written once into a temporary root, the
 * text-generation model run directly (input_ids → last_hidden_state and its present.* cache, no pmg loader
 * in between), and the largest difference of two float arrays.
 */
import { join } from 'node:path';
import { writeFixtures } from '../fixtures/write-fixtures.js';
import { prepareSoft } from '../runtime/prepare-soft.js';
import { OnnxSession, ort } from '../runtime/onnx-session.js';
import type { PrefixCache } from '../spec/llm-body.js';
import type { FloatTensor } from '../spec/tensor.js';

export interface BodyFixtures {
  root: string;
  /** The tiny LLM's text-generation export (transformers.js layout). */
  llm: string;
  /** Builder layout, standard ops / GroupQueryAttention. */
  builder: string;
  builderGqa: string;
  /** `prepare-soft` of llm/. */
  prepared: string;
}

export async function writeBodyFixtures(root: string): Promise<BodyFixtures> {
  await writeFixtures(root, { only: ['llm', 'llm-body', 'llm-body-gqa'] });
  await prepareSoft(join(root, 'llm'), join(root, 'body2'));
  return { root, llm: join(root, 'llm'), builder: join(root, 'llm-body'), builderGqa: join(root, 'llm-body-gqa'), prepared: join(root, 'body2') };
}

export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** The last `count` positions of a [1, T, hidden] tensor. */
export function lastRows(tensor: FloatTensor, count: number): Float32Array {
  const width = tensor.dims[2]!;
  return tensor.data.subarray((tensor.dims[1]! - count) * width);
}

/**
 * Run a transformers.js causal-LM graph on token ids (no cache): its last_hidden_state and its present.* as a
 * prefix cache. `file` is the graph (e.g. <llm>/onnx/model.onnx).
 */
export async function runTextGeneration(
  file: string,
  ids: readonly number[],
  layers: number,
  kvHeads: number,
  headDim: number,
): Promise<{ hidden: FloatTensor; cache: PrefixCache }> {
  const session = await OnnxSession.create(file, { intraOpThreads: 1 });
  try {
    const n = ids.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, n]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
      position_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
        [1, n],
      ),
    };
    for (let i = 0; i < layers; i++) {
      feeds[`past_key_values.${i}.key`] = new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
      feeds[`past_key_values.${i}.value`] = new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
    }
    const out = await session.run(feeds);
    const tensor = (name: string): FloatTensor => ({ data: out[name]!.data as Float32Array, dims: [...out[name]!.dims] });
    return {
      hidden: tensor('last_hidden_state'),
      cache: {
        keys: Array.from({ length: layers }, (_, i) => tensor(`present.${i}.key`)),
        values: Array.from({ length: layers }, (_, i) => tensor(`present.${i}.value`)),
      },
    };
  } finally {
    await session.release();
  }
}
