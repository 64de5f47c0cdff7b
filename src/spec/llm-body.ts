/**
 * The decoder body of an LLM, as the soft preference branch uses it (method.md §3): one forward pass over input
 * EMBEDDINGS (not token ids) after a caller-supplied prefix key/value cache (P-Tuning v2), returning the final-norm
 * hidden states. No LM head, no sampling. Implementations: runtime/llm-body*.ts (onnxruntime-genai builder exports
 * with `exclude_embeds`/`exclude_lm_head`, and text-generation exports rewritten by `pmg models prepare-soft`).
 */
import type { FloatTensor } from './tensor.js';

export interface LlmBodyConfig {
  /** Width of the residual stream (the embedding width). */
  hidden: number;
  layers: number;
  /** Attention heads, and key/value heads (fewer with grouped-query attention). */
  heads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  /** Positions the model was trained for (prefix + prompt + tokens must fit), when its files say. */
  maxPositions?: number;
}

/**
 * A prefix key/value cache: for every layer, keys and values `[1, kvHeads, P, headDim]`. The tokens that follow sit
 * at positions P, P+1, ... and attend to the P prefix entries (the attention mask has P + T ones).
 */
export interface PrefixCache {
  keys: FloatTensor[];
  values: FloatTensor[];
}

export interface LlmBody {
  /** Folder or repo id, for messages and records. */
  readonly id: string;
  readonly config: LlmBodyConfig;
  /**
   * Identifies the weights whatever route exported them: sha256 (hex) of the embedding table's float32 bytes and
   * the config's dimensions. A soft module records the fingerprint of the LLM it was trained with.
   */
  readonly fingerprint: string;
  /** Token ids of `text`, as the model's tokenizer makes them (BOS included when it adds one). */
  tokenize(text: string): number[];
  /** Rows of the embedding table: `[1, ids.length, hidden]`. */
  embed(ids: readonly number[]): FloatTensor;
  /** Final-norm hidden states `[1, T, hidden]` of `inputsEmbeds` `[1, T, hidden]` after `prefix` (none: P = 0). */
  forward(inputsEmbeds: FloatTensor, prefix?: PrefixCache): Promise<FloatTensor>;
  close?(): Promise<void>;
}
