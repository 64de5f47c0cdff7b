/**
 * Stage 2 of the pipeline: prompt encoding with 77-token windows.
 *
 * A prompt is a list of spans `{ text, weight }`. The spans' token ids are concatenated and split
 * into chunks of 75 tokens; each chunk becomes one window `[bos, ...75, eos, pad...]` of 77 ids,
 * the windows are encoded in one text-encoder call, and the outputs are concatenated along the
 * token axis, so a long prompt is never cut off (PMG repeats preference keywords and relies on
 * this). Every prompt of one batch (negative prompts included) is padded with empty windows to the
 * same number of chunks. A span's weight multiplies the embeddings of its tokens (start, end and
 * padding positions keep weight 1).
 */
import { PmgError } from '../errors/pmg-error.js';
import type { TextEncoder } from '../spec/diffusion-models.js';
import type { FloatTensor } from '../spec/tensor.js';

export interface PromptSpan {
  text: string;
  /** Scale of this span's token embeddings (default 1). */
  weight?: number;
}

/** Plain text, or spans with weights. */
export type PromptInput = string | readonly PromptSpan[];

/** Longest prompt accepted, in characters (all spans together). */
export const MAX_PROMPT_CHARS = 10_000;
/** Most 75-token chunks per prompt (32 x 75 = 2,400 tokens). */
export const MAX_PROMPT_CHUNKS = 32;

export interface TokenizedPrompt {
  /** Token ids without start/end tokens. */
  ids: number[];
  /** One weight per id. */
  weights: number[];
}

export function promptSpans(prompt: PromptInput): readonly PromptSpan[] {
  return typeof prompt === 'string' ? [{ text: prompt }] : prompt;
}

export function promptLength(prompt: PromptInput): number {
  return promptSpans(prompt).reduce((sum, span) => sum + span.text.length, 0);
}

export function tokenizePrompt(encoder: TextEncoder, prompt: PromptInput, what = 'prompt'): TokenizedPrompt {
  const length = promptLength(prompt);
  if (length > MAX_PROMPT_CHARS) {
    throw new PmgError('invalid-argument', `${what} has ${length} characters; the limit is ${MAX_PROMPT_CHARS}`, { details: { field: what, length } });
  }
  const ids: number[] = [];
  const weights: number[] = [];
  for (const span of promptSpans(prompt)) {
    const weight = span.weight ?? 1;
    if (!Number.isFinite(weight)) throw new PmgError('invalid-argument', `${what} has a span with weight ${weight}; weights must be finite numbers`);
    for (const id of encoder.tokenize(span.text)) {
      ids.push(id);
      weights.push(weight);
    }
  }
  const chunks = chunkCount(encoder, ids.length);
  if (chunks > MAX_PROMPT_CHUNKS) {
    throw new PmgError('invalid-argument', `${what} has ${ids.length} tokens (${chunks} chunks of ${encoder.maxLength - 2}); the limit is ${MAX_PROMPT_CHUNKS} chunks`, {
      details: { field: what, tokens: ids.length },
    });
  }
  return { ids, weights };
}

/** Number of windows a prompt of `tokenCount` tokens needs (at least 1). */
export function chunkCount(encoder: TextEncoder, tokenCount: number): number {
  return Math.max(1, Math.ceil(tokenCount / (encoder.maxLength - 2)));
}

/** The `chunks` windows of one prompt, and the weight of every position. */
export function promptWindows(encoder: TextEncoder, prompt: TokenizedPrompt, chunks: number): { windows: number[][]; weights: number[] } {
  const body = encoder.maxLength - 2;
  const windows: number[][] = [];
  const weights: number[] = [];
  for (let c = 0; c < chunks; c++) {
    const ids = prompt.ids.slice(c * body, (c + 1) * body);
    const w = prompt.weights.slice(c * body, (c + 1) * body);
    const window = [encoder.bosTokenId, ...ids, encoder.eosTokenId];
    const windowWeights = [1, ...w, 1];
    while (window.length < encoder.maxLength) {
      window.push(encoder.padTokenId);
      windowWeights.push(1);
    }
    windows.push(window);
    weights.push(...windowWeights);
  }
  return { windows, weights };
}

/**
 * Encode several prompts to `[1, chunks*77, hidden]` each, all with the same number of chunks
 * (the most any of them needs, at least `minChunks`), in one text-encoder call.
 */
export async function encodePrompts(encoder: TextEncoder, prompts: readonly PromptInput[], options: { minChunks?: number; names?: string[] } = {}): Promise<FloatTensor[]> {
  if (prompts.length === 0) return [];
  const tokenized = prompts.map((p, i) => tokenizePrompt(encoder, p, options.names?.[i] ?? 'prompt'));
  const chunks = Math.max(options.minChunks ?? 1, ...tokenized.map((t) => chunkCount(encoder, t.ids.length)));
  const all = tokenized.map((t) => promptWindows(encoder, t, chunks));
  const hidden = await encoder.encode(all.flatMap((a) => a.windows));
  const width = encoder.hiddenSize;
  const perPrompt = chunks * encoder.maxLength * width;
  return all.map((a, i) => {
    const data = hidden.data.slice(i * perPrompt, (i + 1) * perPrompt);
    a.weights.forEach((weight, position) => {
      if (weight === 1) return;
      const row = data.subarray(position * width, (position + 1) * width);
      for (let k = 0; k < width; k++) row[k] = row[k]! * weight;
    });
    return { data, dims: [1, chunks * encoder.maxLength, width] };
  });
}

/** Convenience: one prompt given as weighted spans -> `[1, tokens, hidden]`. */
export async function encodePrompt(encoder: TextEncoder, prompt: PromptInput, minChunks = 1): Promise<FloatTensor> {
  const [out] = await encodePrompts(encoder, [prompt], { minChunks });
  return out!;
}
