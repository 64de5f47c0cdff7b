/**
 * An in-process LlmBody for tests of the soft branch (spec/llm-body.ts), standing in for the ONNX bodies: the tiny
 * LLM's shape, embedding table and fingerprint (fixtures/tiny-soft.ts), so the fixture soft module fits it, and a small
 * causal network that is a real function of the embeddings AND the prefix:
 *   for every layer l and key/value head g, on the channels (g·headDim + d) mod hidden, d < headDim, of the stream:
 *     h[t] += softmax_j(q_t·k_j / √headDim) v_j over the P prefix keys/values of layer l, head g, then the
 *     positions j <= t (q = k = v = the stream's channels before the layer);
 *   then an RMS norm per position.
 * Tokens: the BOS id, then one id per UTF-8 byte (the tiny vocabulary's byte symbols).
 */
import { PmgError } from '../errors/pmg-error.js';
import { toByteSymbols } from '../fixtures/byte-level-bpe.js';
import { LLM_BOS_ID, llmVocabulary } from '../fixtures/tiny-llm-tokenizer.js';
import { TINY_LLM_ID, tinyLlmWeights } from '../fixtures/tiny-soft.js';
import { llmBodyFingerprint } from '../soft/llm-body-source.js';
import type { LlmBody, LlmBodyConfig, PrefixCache } from '../spec/llm-body.js';
import type { FloatTensor } from '../spec/tensor.js';

export interface FakeLlmBodyOptions {
  id?: string;
  /** Another shape (the table is then random-free: row r is filled with sin(r + c)). */
  config?: LlmBodyConfig;
  fingerprint?: string;
  /** Counts forward passes (tests of the cache). */
  onForward?: () => void;
}

export function fakeLlmBody(options: FakeLlmBodyOptions = {}): LlmBody & { forwardCalls: number } {
  const tiny = tinyLlmWeights();
  const config = options.config ?? tiny.config;
  const table = options.config ? syntheticTable(config) : tiny.table;
  const { hidden, layers, kvHeads, headDim, vocabSize } = config;
  const vocab = llmVocabulary().vocab;
  const body = {
    id: options.id ?? `fake:${TINY_LLM_ID}`,
    config,
    fingerprint: options.fingerprint ?? (options.config ? llmBodyFingerprint(config, table) : tiny.fingerprint),
    forwardCalls: 0,
    tokenize(text: string): number[] {
      return [LLM_BOS_ID, ...Array.from(toByteSymbols(text), (symbol) => (vocab.get(symbol) ?? 0) % vocabSize)];
    },
    embed(ids: readonly number[]): FloatTensor {
      const data = new Float32Array(ids.length * hidden);
      ids.forEach((id, t) => {
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new PmgError('invalid-argument', `token id ${id} is outside the vocabulary (0..${vocabSize - 1})`);
        data.set(table.subarray(id * hidden, (id + 1) * hidden), t * hidden);
      });
      return { data, dims: [1, ids.length, hidden] };
    },
    async forward(inputsEmbeds: FloatTensor, prefix?: PrefixCache): Promise<FloatTensor> {
      body.forwardCalls++;
      options.onForward?.();
      const T = inputsEmbeds.dims[1]!;
      if (inputsEmbeds.dims.length !== 3 || inputsEmbeds.dims[0] !== 1 || inputsEmbeds.dims[2] !== hidden) {
        throw new PmgError('invalid-argument', `inputs_embeds has shape [${inputsEmbeds.dims.join(', ')}]; expected [1, T, ${hidden}]`);
      }
      const P = prefix?.keys[0]?.dims[2] ?? 0;
      if (prefix) checkPrefix(prefix, config, P);
      const h = Float32Array.from(inputsEmbeds.data);
      for (let l = 0; l < layers; l++) {
        const before = h.slice();
        for (let g = 0; g < kvHeads; g++) {
          const channels = Array.from({ length: headDim }, (_, d) => (g * headDim + d) % hidden);
          const pick = (t: number): Float32Array => Float32Array.from(channels, (c) => before[t * hidden + c]!);
          for (let t = 0; t < T; t++) {
            const scores: number[] = [];
            const rows: Float32Array[] = [];
            const q = pick(t);
            for (let p = 0; p < P; p++) {
              const k = prefix!.keys[l]!.data.subarray((g * P + p) * headDim, (g * P + p + 1) * headDim);
              scores.push(dot(q, k) / Math.sqrt(headDim));
              rows.push(prefix!.values[l]!.data.subarray((g * P + p) * headDim, (g * P + p + 1) * headDim));
            }
            for (let j = 0; j <= t; j++) {
              const kv = pick(j);
              scores.push(dot(q, kv) / Math.sqrt(headDim));
              rows.push(kv);
            }
            const max = Math.max(...scores);
            const weights = scores.map((s) => Math.exp(s - max));
            const sum = weights.reduce((a, b) => a + b, 0);
            for (let d = 0; d < headDim; d++) {
              let out = 0;
              for (let r = 0; r < rows.length; r++) out += (weights[r]! / sum) * rows[r]![d]!;
              h[t * hidden + channels[d]!]! += out;
            }
          }
        }
      }
      for (let t = 0; t < T; t++) {
        const row = h.subarray(t * hidden, (t + 1) * hidden);
        const rms = Math.sqrt(row.reduce((a, v) => a + v * v, 0) / hidden + 1e-6);
        for (let c = 0; c < hidden; c++) row[c] = row[c]! / rms;
      }
      return { data: h, dims: [1, T, hidden] };
    },
  };
  return body;
}

function checkPrefix(prefix: PrefixCache, config: LlmBodyConfig, P: number): void {
  if (prefix.keys.length !== config.layers || prefix.values.length !== config.layers) throw new PmgError('invalid-argument', `prefix has ${prefix.keys.length} layers; the body has ${config.layers}`);
  for (const [l, t] of [...prefix.keys.entries(), ...prefix.values.entries()]) {
    const want = [1, config.kvHeads, P, config.headDim];
    if (t.dims.length !== 4 || t.dims.some((d, i) => d !== want[i])) throw new PmgError('invalid-argument', `prefix of layer ${l} has shape [${t.dims.join(', ')}]; expected [${want.join(', ')}]`);
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function syntheticTable(config: LlmBodyConfig): Float32Array {
  const table = new Float32Array(config.vocabSize * config.hidden);
  for (let r = 0; r < config.vocabSize; r++) for (let c = 0; c < config.hidden; c++) table[r * config.hidden + c] = Math.sin(r + 0.37 * c);
  return table;
}
