/**
 * Loads an LLM body (spec/llm-body.ts) from a folder or a hub repo id: the decoder of an LLM that takes input
 * EMBEDDINGS and a caller-supplied prefix key/value cache and returns the final-norm hidden states. Both routes
 * (llm-body-layout.ts: onnxruntime-genai builder exports with exclude_embeds/exclude_lm_head, and folders written by
 * `pmg models prepare-soft`) load through this one class:
 *
 *  - `tokenize` uses the folder's tokenizer.json (transformers.js, transformers-loading.ts);
 *  - `embed` reads rows of embed_tokens.safetensors (llm-body-embeddings.ts);
 *  - `forward` runs one pass with inputs_embeds [1, T, hidden], attention_mask = P + T ones, position_ids
 *    P..P+T-1 when the graph takes them (builder graphs with fused attention derive positions from the mask), and
 *    past_key_values.{i}.key/value = the prefix ([1, kvHeads, P, headDim] per layer; P = 0 without one);
 *  - `fingerprint` = sha256 of the table's float32 bytes and the dimensions, the same for both routes.
 *
 * Graphs with float16 inputs (fp16 exports) are fed float16 and their outputs widened to float32. A prefix of the
 * wrong shape is one error naming the layer and the shape expected.
 */
import { relative, resolve, sep } from 'node:path';
import { float16ToFloat32, float32ToFloat16 } from '../core/float16.js';
import { PmgError } from '../errors/pmg-error.js';
import type { LlmBody, LlmBodyConfig, PrefixCache } from '../spec/llm-body.js';
import type { FloatTensor } from '../spec/tensor.js';
import { EMBED_TOKENS_FILE, EmbeddingTable } from './llm-body-embeddings.js';
import { GENAI_CONFIG_FILE, PMG_BODY_FILE, readLlmBodyLayout, type LlmBodyLayout, type LlmBodyRoute } from './llm-body-layout.js';
import type { ModelStore } from './model-store.js';
import { defaultSessionPool, ort, type ExecutionProvider, type OnnxSession, type SessionPool } from './onnx-session.js';
import { loadTokenizer } from './transformers-loading.js';

export interface LoadLlmBodyOptions {
  /** Resolves hub repo ids (their body files are pulled); without one only local folders load. */
  store?: ModelStore;
  pool?: SessionPool;
  device?: ExecutionProvider;
  /** onnxruntime intra-op threads (default: the pool's default, the machine's cores). */
  threads?: number;
}

/**
 * The files of a body repo on the hub (either route) pulled first; then the graph its description names, with
 * `<graph>.data` / `<graph>_data` (the builder's and transformers.js's external-data names) and any external-data
 * files pmg-body.json lists.
 */
export const LLM_BODY_INCLUDE = [
  GENAI_CONFIG_FILE,
  PMG_BODY_FILE,
  'config.json',
  'generation_config.json',
  EMBED_TOKENS_FILE,
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
];

/** What one pass returns besides the hidden states: the key/value cache after it (prefix + these tokens). */
export interface BodyPass {
  hidden: FloatTensor;
  /** present.{i}.key/value: [1, kvHeads, P + T, headDim] per layer. */
  cache: PrefixCache;
}

const fingerprints = new Map<string, string>();

export class OnnxLlmBody implements LlmBody {
  private constructor(
    readonly id: string,
    readonly layout: LlmBodyLayout,
    readonly fingerprint: string,
    private readonly session: OnnxSession,
    private readonly table: EmbeddingTable,
    private readonly encode: (text: string) => number[],
    /** The float inputs that are float16 (fp16 graphs; an fp16 export with float32 I/O has only inputs_embeds). */
    private readonly halfInputs: ReadonlySet<string>,
  ) {}

  get config(): LlmBodyConfig {
    return this.layout.config;
  }

  get route(): LlmBodyRoute {
    return this.layout.route;
  }

  static async load(dir: string, id: string, options: LoadLlmBodyOptions): Promise<OnnxLlmBody> {
    const layout = readLlmBodyLayout(dir, id);
    const what = `LLM body ${id}`;
    const table = EmbeddingTable.open(layout.embeddingsFile, layout.config, what);
    const tokenizer = await loadTokenizer(dir);
    const session = await (options.pool ?? defaultSessionPool).get(layout.modelFile, {
      ...(options.device ? { executionProvider: options.device } : {}),
      ...(options.threads ? { intraOpThreads: options.threads } : {}),
    });
    const halfInputs = checkSession(session, layout, what);
    const key = `${table.file}|${layout.config.hidden}|${layout.config.layers}|${layout.config.heads}|${layout.config.kvHeads}|${layout.config.headDim}`;
    let fingerprint = fingerprints.get(key);
    if (!fingerprint) {
      fingerprint = table.fingerprint(layout.config);
      fingerprints.set(key, fingerprint);
    }
    return new OnnxLlmBody(id, layout, fingerprint, session, table, (text) => tokenizer.encode(text), halfInputs);
  }

  tokenize(text: string): number[] {
    return this.encode(text);
  }

  embed(ids: readonly number[]): FloatTensor {
    return { data: this.table.rows(ids), dims: [1, ids.length, this.config.hidden] };
  }

  async forward(inputsEmbeds: FloatTensor, prefix?: PrefixCache): Promise<FloatTensor> {
    return (await this.run(inputsEmbeds, prefix, false)).hidden;
  }

  /** One pass that also returns the key/value cache after it (prefix + these tokens): to continue, or to test. */
  forwardWithCache(inputsEmbeds: FloatTensor, prefix?: PrefixCache): Promise<BodyPass> {
    return this.run(inputsEmbeds, prefix, true);
  }

  async close(): Promise<void> {
    // Sessions belong to the pool (shared, released with it); nothing else is held open.
  }

  private async run(inputsEmbeds: FloatTensor, prefix: PrefixCache | undefined, withCache: boolean): Promise<BodyPass> {
    const { config, inputs, outputs } = this.layout;
    const tokens = checkEmbeds(inputsEmbeds, config);
    const past = prefixLength(prefix, config);
    const feeds: Record<string, ort.Tensor> = {
      [inputs.embeds]: this.floatTensor(inputs.embeds, inputsEmbeds.data, inputsEmbeds.dims),
      [inputs.mask]: new ort.Tensor('int64', new BigInt64Array(past + tokens).fill(1n), [1, past + tokens]),
    };
    if (inputs.positions)
      feeds[inputs.positions] = new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: tokens }, (_, i) => BigInt(past + i)),
        [1, tokens],
      );
    const empty = new Float32Array(0);
    for (let layer = 0; layer < config.layers; layer++) {
      const dims = [1, config.kvHeads, past, config.headDim];
      feeds[inputs.pastKeys[layer]!] = this.floatTensor(inputs.pastKeys[layer]!, prefix ? prefix.keys[layer]!.data : empty, dims);
      feeds[inputs.pastValues[layer]!] = this.floatTensor(inputs.pastValues[layer]!, prefix ? prefix.values[layer]!.data : empty, dims);
    }
    const fetches = withCache ? [outputs.hidden, ...outputs.presentKeys, ...outputs.presentValues] : [outputs.hidden];
    const result = await this.session.run(feeds, fetches);
    const hidden = this.floatOutput(result, outputs.hidden);
    const cache: PrefixCache = withCache
      ? { keys: outputs.presentKeys.map((name) => this.floatOutput(result, name)), values: outputs.presentValues.map((name) => this.floatOutput(result, name)) }
      : { keys: [], values: [] };
    return { hidden, cache };
  }

  private floatTensor(name: string, data: Float32Array, dims: number[]): ort.Tensor {
    return this.halfInputs.has(name) ? new ort.Tensor('float16', float32ToFloat16(data), dims) : new ort.Tensor('float32', data, dims);
  }

  private floatOutput(result: Record<string, ort.Tensor>, name: string): FloatTensor {
    const tensor = result[name];
    if (!tensor) throw new PmgError('internal', `LLM body ${this.id} returned no ${name}`);
    const dims = [...tensor.dims];
    if (tensor.type === 'float16') return { data: float16ToFloat32(tensor.data as Uint16Array), dims };
    if (tensor.type !== 'float32') throw new PmgError('model-layout', `LLM body ${this.id}: output ${name} is ${tensor.type}; float32 or float16 is needed`);
    return { data: tensor.data as Float32Array, dims };
  }
}

/** Load the LLM body in a folder, or pull a hub repo holding one (with `options.store`). */
export async function loadLlmBody(spec: string, options: LoadLlmBodyOptions = {}): Promise<OnnxLlmBody> {
  if (!spec.trim()) throw new PmgError('invalid-argument', 'the LLM body is empty; give a folder or a hub repo id');
  const store = options.store;
  if (!store || store.parse(spec).kind === 'local') {
    const dir = store ? (await store.resolve(spec)).dir : resolve(spec);
    return OnnxLlmBody.load(dir, spec, options);
  }
  const described = await store.pull(spec, { include: LLM_BODY_INCLUDE });
  const id = `${described.id}@${described.commit ?? described.revision ?? 'main'}`;
  const layout = readLlmBodyLayout(described.dir, id, { graphPresent: false });
  const graph = relative(described.dir, layout.modelFile).split(sep).join('/');
  const pulled = await store.pull(spec, { include: [...LLM_BODY_INCLUDE, graph, `${graph}.data`, `${graph}_data`, ...layout.externalData] });
  return OnnxLlmBody.load(pulled.dir, id, options);
}

/** Inputs and outputs the layout names are in the graph, with float types and kv shapes matching the config. */
function checkSession(session: OnnxSession, layout: LlmBodyLayout, what: string): Set<string> {
  const { inputs, outputs, config } = layout;
  if (!session.outputNames.includes(outputs.hidden)) {
    const hint =
      session.outputNames.includes('logits') && layout.route === 'onnxruntime-genai'
        ? "; it outputs logits: re-export with '--extra_options exclude_embeds=true exclude_lm_head=true'"
        : '';
    throw new PmgError('model-layout', `${what}: ${session.path} has no output ${outputs.hidden} (it has ${session.outputNames.join(', ')})${hint}`, {
      details: { path: session.path },
    });
  }
  session.expect(what, [inputs.embeds, inputs.mask, ...(inputs.positions ? [inputs.positions] : []), ...inputs.pastKeys, ...inputs.pastValues]);
  const extra = session.inputNames.filter((name) => ![inputs.embeds, inputs.mask, inputs.positions, ...inputs.pastKeys, ...inputs.pastValues].includes(name));
  if (extra.length > 0)
    throw new PmgError(
      'model-layout',
      `${what}: ${session.path} has inputs pmg does not feed: ${extra.join(', ')} (${layout.describedBy} does not name them)`,
      { details: { path: session.path } },
    );
  const half = new Set<string>();
  for (const name of [inputs.embeds, ...inputs.pastKeys, ...inputs.pastValues]) {
    const type = session.inputInfo(name)?.type;
    if (type !== 'float32' && type !== 'float16')
      throw new PmgError('model-layout', `${what}: input ${name} is ${type ?? 'not a tensor'}; float32 or float16 is needed`, {
        details: { path: session.path },
      });
    if (type === 'float16') half.add(name);
  }
  const embeds = session.inputInfo(inputs.embeds);
  const [hiddenDim] = (embeds?.shape ?? []).slice(-1);
  if (typeof hiddenDim === 'number' && hiddenDim !== config.hidden) {
    throw new PmgError('model-layout', `${what}: input ${inputs.embeds} is ${hiddenDim} wide but ${layout.describedBy} says hidden size ${config.hidden}`, {
      details: { path: session.path },
    });
  }
  for (const name of [...inputs.pastKeys, ...inputs.pastValues]) {
    const shape = session.inputInfo(name)?.shape ?? [];
    const heads = shape[1];
    const headDim = shape[3];
    if ((typeof heads === 'number' && heads !== config.kvHeads) || (typeof headDim === 'number' && headDim !== config.headDim)) {
      throw new PmgError(
        'model-layout',
        `${what}: input ${name} has shape [${shape.join(', ')}] but ${layout.describedBy} says ${config.kvHeads} key/value heads of size ${config.headDim}`,
        {
          details: { path: session.path },
        },
      );
    }
  }
  return half;
}

function checkEmbeds(embeds: FloatTensor, config: LlmBodyConfig): number {
  const [batch, tokens, width] = embeds.dims;
  if (embeds.dims.length !== 3 || batch !== 1 || width !== config.hidden || tokens === undefined || tokens < 1) {
    throw new PmgError('invalid-argument', `inputsEmbeds has shape [${embeds.dims.join(', ')}]; this LLM body needs [1, T, ${config.hidden}] with T >= 1`, {
      details: { field: 'inputsEmbeds' },
    });
  }
  if (embeds.data.length !== tokens * width)
    throw new PmgError('invalid-argument', `inputsEmbeds has ${embeds.data.length} values for shape [${embeds.dims.join(', ')}]`, {
      details: { field: 'inputsEmbeds' },
    });
  return tokens;
}

/** P, after checking every layer's keys and values are [1, kvHeads, P, headDim] with one P. */
export function prefixLength(prefix: PrefixCache | undefined, config: LlmBodyConfig): number {
  if (!prefix) return 0;
  for (const part of ['keys', 'values'] as const) {
    if (!Array.isArray(prefix[part]) || prefix[part].length !== config.layers) {
      throw new PmgError(
        'invalid-argument',
        `the prefix has ${Array.isArray(prefix[part]) ? prefix[part].length : 'no'} ${part === 'keys' ? 'key' : 'value'} tensors; this LLM body has ${config.layers} layers and needs one per layer`,
        {
          details: { field: `prefix.${part}` },
        },
      );
    }
  }
  const length = prefix.keys[0]!.dims[2];
  const expected = `[1, ${config.kvHeads}, ${typeof length === 'number' ? length : 'P'}, ${config.headDim}]`;
  for (let layer = 0; layer < config.layers; layer++) {
    for (const [part, tensor] of [
      ['key', prefix.keys[layer]!],
      ['value', prefix.values[layer]!],
    ] as const) {
      const [batch, heads, p, headDim] = tensor.dims;
      const ok =
        tensor.dims.length === 4 &&
        batch === 1 &&
        heads === config.kvHeads &&
        p === length &&
        headDim === config.headDim &&
        tensor.data.length === config.kvHeads * (length ?? 0) * config.headDim;
      if (!ok) {
        throw new PmgError(
          'invalid-argument',
          `prefix layer ${layer} ${part} has shape [${tensor.dims.join(', ')}]${tensor.data.length !== tensor.dims.reduce((a, b) => a * b, 1) ? ` with ${tensor.data.length} values` : ''}; this LLM body needs ${expected} in every layer (key/value heads ${config.kvHeads}, head size ${config.headDim}, one prefix length P)`,
          { details: { field: `prefix.${part}s[${layer}]` } },
        );
      }
    }
  }
  return length ?? 0;
}
