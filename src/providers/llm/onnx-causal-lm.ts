/**
 * `onnx:<folder or repo id>` — a local causal LM in the transformers.js layout (config.json,
 * tokenizer.json, tokenizer_config.json, onnx/model.onnx), run through transformers.js.
 *
 * - The prompt is continued as raw text (the PMG prompts carry their own `### Human:` / `### Assistant:`
 *   turns; the model's chat template is not applied). The tokenizer adds BOS as it normally does.
 * - Greedy decoding, at most maxNewTokens (default 100, the official PMG setting) new tokens, and never past the
 *   model's window (config.json max_position_embeddings / n_positions): a prompt that fills the window is refused in one
 *   line (a learned position table would fail deep in onnxruntime with 'indices element out of data bounds').
 * - Stop strings: the caller's plus `###` (the next Vicuna turn); generation halts as soon as one appears
 *   in the decoded continuation, which is then cut at the first one. EOS also stops.
 * - The model is loaded once per process (runtime/transformers-models caches it); calls on one
 *   instance run one at a time.
 * - `hiddenStates(prompt)` runs one forward pass and returns the graph's `last_hidden_state` output
 *   (export it as an extra graph output; transformers.js `generate()` cannot return hidden states).
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PmgError } from '../../errors/pmg-error.js';
import type { GenerateTextOptions, GenerateTextResult, HiddenStateLanguageModel, HiddenStatesOptions, HiddenStatesResult } from '../../spec/language-model.js';
import type { Tensor } from '@huggingface/transformers';
import { loadCausalLm, type CausalLm } from '../../runtime/transformers-causal-lm.js';
import type { TransformersDevice, TransformersDtype } from '../../runtime/transformers-options.js';
import { cutAtStop, effectiveStopStrings } from './stop-strings.js';

export const defaultMaxNewTokens = 100;

export interface OnnxCausalLmOptions {
  /** Local folder in the transformers.js layout (already resolved by the model store). */
  dir: string;
  /** Id used as cache key; default `onnx:<dir>`. */
  id?: string;
  device?: TransformersDevice;
  dtype?: TransformersDtype;
}

/** The files an `onnx:` LLM folder needs for a dtype (fp32: onnx/model.onnx). */
export function onnxCausalLmFiles(dtype: TransformersDtype = 'fp32'): { files: string[]; optionalFiles: string[] } {
  const suffix = dtype === 'fp32' ? '' : dtype === 'q8' ? '_quantized' : `_${dtype}`;
  const model = `onnx/model${suffix}.onnx`;
  return {
    files: ['config.json', 'tokenizer.json', 'tokenizer_config.json', model],
    optionalFiles: ['generation_config.json', 'special_tokens_map.json', `${model}_data`, `${model}.data`],
  };
}

type StopCriterion = (inputIds: bigint[][]) => boolean[];

export class OnnxCausalLanguageModel implements HiddenStateLanguageModel {
  readonly id: string;
  readonly supportsJsonSchema = false;
  private readonly options: Required<Omit<OnnxCausalLmOptions, 'id'>>;
  private queue: Promise<unknown> = Promise.resolve();
  private reverseVocab: string[] | undefined;

  constructor(options: OnnxCausalLmOptions) {
    this.options = { dir: options.dir, device: options.device ?? 'cpu', dtype: options.dtype ?? 'fp32' };
    this.id = options.id ?? `onnx:${options.dir}`;
    this.cacheKey = `${this.id}#${folderFingerprint(options.dir)}`;
  }

  /** The id plus a fingerprint of the weight and tokenizer files, so new weights under the same path miss the cache. */
  readonly cacheKey: string;

  /** Load (once per process) without generating; errors name the folder and missing file. */
  async load(): Promise<void> {
    await this.loaded();
  }

  private loaded(): Promise<CausalLm> {
    return loadCausalLm(this.options.dir, { device: this.options.device, dtype: this.options.dtype });
  }

  generate(prompt: string, options: GenerateTextOptions = {}): Promise<GenerateTextResult> {
    return this.serial(() => this.generateNow(prompt, options));
  }

  hiddenStates(prompt: string, options: HiddenStatesOptions = {}): Promise<HiddenStatesResult> {
    return this.serial(() => this.hiddenStatesNow(prompt, options));
  }

  private async generateNow(prompt: string, options: GenerateTextOptions): Promise<GenerateTextResult> {
    if (options.jsonSchema !== undefined) {
      throw new PmgError(
        'unsupported',
        `the local LLM ${this.id} cannot follow a JSON schema; use the plain-text prompts or an openai: server with JSON-schema support`,
      );
    }
    const maxNewTokens = options.maxNewTokens ?? defaultMaxNewTokens;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
      throw new PmgError('invalid-argument', `maxNewTokens must be a positive whole number, got ${maxNewTokens}`);
    }
    if (options.signal?.aborted) throw new PmgError('aborted', `generation with ${this.id} was aborted`);
    const lm = await this.loaded();
    const stops = effectiveStopStrings(options.stop, false);
    const inputs = lm.tokenizer(prompt) as { input_ids: Tensor; attention_mask: Tensor };
    const promptIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
    const window = this.checkWindow(lm, promptIds.length);
    const newTokens = window === undefined ? maxNewTokens : Math.min(maxNewTokens, window - promptIds.length);
    const promptText = lm.tokenizer.decode(promptIds, { skip_special_tokens: true });
    const continuation = (all: readonly (number | bigint)[]): string => {
      const ids = all.map(Number);
      const full = lm.tokenizer.decode(ids, { skip_special_tokens: true });
      return full.startsWith(promptText) ? full.slice(promptText.length) : lm.tokenizer.decode(ids.slice(promptIds.length), { skip_special_tokens: true });
    };
    let stoppedByString = false;
    const stopCriterion: StopCriterion = (inputIds) =>
      inputIds.map((ids) => {
        if (options.signal?.aborted) return true;
        if (stops.length === 0 || ids.length <= promptIds.length) return false;
        if (cutAtStop(continuation(ids), stops).stopped) stoppedByString = true;
        return stoppedByString;
      });
    let output: Tensor;
    try {
      output = (await lm.model.generate({
        input_ids: inputs.input_ids,
        attention_mask: inputs.attention_mask,
        max_new_tokens: newTokens,
        do_sample: false,
        num_beams: 1,
        stopping_criteria: [stopCriterion] as never,
      } as never)) as Tensor;
    } catch (error) {
      if (error instanceof PmgError) throw error;
      throw new PmgError('internal', `generation with ${this.id} failed: ${firstLine(error)}`, { cause: error });
    }
    if (options.signal?.aborted) throw new PmgError('aborted', `generation with ${this.id} was aborted`);
    const allIds = Array.from(output.data as BigInt64Array, Number);
    const generatedIds = allIds.slice(promptIds.length);
    const cut = cutAtStop(continuation(allIds), stops);
    const eos = eosIds(lm);
    const endedWithEos = generatedIds.length > 0 && eos.has(generatedIds[generatedIds.length - 1]!);
    const finishReason = cut.stopped || endedWithEos ? 'stop' : generatedIds.length >= newTokens ? 'length' : 'other';
    return { text: cut.text, finishReason, usage: { promptTokens: promptIds.length, completionTokens: generatedIds.length } };
  }

  private async hiddenStatesNow(prompt: string, options: HiddenStatesOptions): Promise<HiddenStatesResult> {
    if (options.signal?.aborted) throw new PmgError('aborted', `reading hidden states of ${this.id} was aborted`);
    const lm = await this.loaded();
    const inputs = lm.tokenizer(prompt) as { input_ids: Tensor; attention_mask: Tensor };
    const tokenIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
    this.checkWindow(lm, tokenIds.length - 1);
    let outputs: Record<string, Tensor>;
    try {
      outputs = (await lm.model({ input_ids: inputs.input_ids, attention_mask: inputs.attention_mask })) as Record<string, Tensor>;
    } catch (error) {
      throw new PmgError('internal', `the forward pass of ${this.id} failed: ${firstLine(error)}`, { cause: error });
    }
    const hidden = outputs.last_hidden_state;
    if (!hidden) {
      throw new PmgError(
        'model-layout',
        `the LLM ${this.options.dir} has no last_hidden_state output (it has ${Object.keys(outputs).join(', ')}); export the model with last_hidden_state as an extra graph output to use soft preference embeddings`,
        {
          details: { dir: this.options.dir },
        },
      );
    }
    const dims = hidden.dims as number[];
    const [batch, length, width] = dims;
    if (dims.length !== 3 || batch !== 1 || length !== tokenIds.length || width === undefined) {
      throw new PmgError('invalid-response', `last_hidden_state of ${this.id} has dims [${dims.join(', ')}], expected [1, ${tokenIds.length}, hidden]`);
    }
    const data = hidden.type === 'float32' ? (hidden.data as Float32Array) : Float32Array.from(hidden.data as ArrayLike<number>);
    const positions = (options.positions ?? tokenIds.map((_, i) => i)).map((p) => {
      const at = p < 0 ? length + p : p;
      if (!Number.isInteger(p) || at < 0 || at >= length) {
        throw new PmgError('invalid-argument', `hidden-state position ${p} is outside the prompt's ${length} tokens`, { details: { position: p, length } });
      }
      return at;
    });
    const out = new Float32Array(positions.length * width);
    positions.forEach((at, row) => out.set(data.subarray(at * width, (at + 1) * width), row * width));
    return { tokenIds, tokens: tokenIds.map((id) => this.tokenString(lm, id)), positions, lastHiddenState: { data: out, dims: [positions.length, width] } };
  }

  /** The model's window (positions), when its config says; refuses a prompt with no room left for one more token. */
  private checkWindow(lm: CausalLm, promptTokens: number): number | undefined {
    const window = [lm.config.max_position_embeddings, lm.config.n_positions, lm.config.n_ctx].find(
      (v): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0,
    );
    if (window !== undefined && promptTokens >= window)
      throw new PmgError(
        'invalid-input',
        `the prompt is ${promptTokens} tokens, and ${this.id} has a window of ${window}; give a shorter history (fewer or shorter items) or an LLM with a longer window`,
        { details: { promptTokens, window } },
      );
    return window;
  }

  private tokenString(lm: CausalLm, id: number): string {
    if (!this.reverseVocab) {
      const reverse: string[] = [];
      for (const [token, index] of lm.tokenizer.get_vocab()) reverse[index] = token;
      this.reverseVocab = reverse;
    }
    return this.reverseVocab[id] ?? `<${id}>`;
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function eosIds(lm: CausalLm): Set<number> {
  const ids = new Set<number>();
  const add = (value: unknown): void => {
    if (typeof value === 'number') ids.add(value);
    else if (Array.isArray(value)) value.forEach(add);
  };
  add((lm.model as unknown as { generation_config?: { eos_token_id?: unknown } }).generation_config?.eos_token_id);
  add(lm.config.eos_token_id);
  add(lm.tokenizer.eos_token_id);
  return ids;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
}

/** sha256 (first 16 hex digits) of the names, sizes and modification times of a model folder's config, tokenizer and ONNX files. */
function folderFingerprint(dir: string): string {
  const files = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];
  try {
    for (const name of readdirSync(join(dir, 'onnx')).sort()) files.push(join('onnx', name));
  } catch {
    // No onnx/ folder: loading will say so; the fingerprint just covers what exists.
  }
  const hash = createHash('sha256');
  for (const file of files) {
    try {
      const info = statSync(join(dir, file));
      hash.update(`${file}:${info.size}:${info.mtimeMs}\n`);
    } catch {
      hash.update(`${file}:-\n`);
    }
  }
  return hash.digest('hex').slice(0, 16);
}
