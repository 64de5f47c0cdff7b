import type { FloatTensor } from './tensor.js';

/** A chat/text LLM as the keyword extractor sees it (providers/llm implement it). */
export interface GenerateTextOptions {
  /** Default 100 (the official PMG setting). */
  maxNewTokens?: number;
  /** Stop when any of these strings appears in the output (it is cut there). */
  stop?: string[];
  /** JSON schema for structured output, where the provider supports it. */
  jsonSchema?: Record<string, unknown>;
  signal?: AbortSignal;
}

export interface GenerateTextResult {
  text: string;
  /** Why generation ended. */
  finishReason: 'stop' | 'length' | 'other';
  usage?: { promptTokens?: number; completionTokens?: number };
}

export interface LanguageModel {
  /** e.g. 'onnx:/path/to/llm' or 'openai:http://127.0.0.1:8080/v1#model-name' — used as the cache key. */
  readonly id: string;
  /**
   * What identifies this model's answers for caching, when the id alone does not (a local folder whose
   * weights can change under the same path). Default: `id`.
   */
  readonly cacheKey?: string;
  /** Whether jsonSchema is honoured (structured variant). */
  readonly supportsJsonSchema: boolean;
  /**
   * Continue a raw prompt (the official PMG prompts are plain text with `### Human:` / `### Assistant:` turns,
   * not the model's chat template). Greedy decoding.
   */
  generate(prompt: string, options?: GenerateTextOptions): Promise<GenerateTextResult>;
  close?(): Promise<void>;
}

/** Options for reading hidden states (`HiddenStateLanguageModel.hiddenStates`). */
export interface HiddenStatesOptions {
  /**
   * Token positions to return (0 = first token of the tokenized prompt, BOS included; negative
   * counts from the end, -1 = last token). Default: every position.
   */
  positions?: number[];
  signal?: AbortSignal;
}

export interface HiddenStatesResult {
  /** The prompt's token ids, as the model saw them (BOS included when the tokenizer adds one). */
  tokenIds: number[];
  /** The same tokens as vocabulary strings. */
  tokens: string[];
  /** The positions returned, non-negative, in the order asked. */
  positions: number[];
  /** The model's `last_hidden_state` at those positions: dims [positions.length, hidden]. */
  lastHiddenState: FloatTensor;
}

/** A language model whose last hidden states can be read (local models; used for soft preference embeddings). */
export interface HiddenStateLanguageModel extends LanguageModel {
  hiddenStates(prompt: string, options?: HiddenStatesOptions): Promise<HiddenStatesResult>;
}
