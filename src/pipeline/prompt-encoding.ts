/**
 * Stage 2 of the pipeline: prompt encoding with 77-token windows.
 *
 * A prompt is plain text or a list of spans `{ text, weight }`.
 * - Plain text: its token ids are split into chunks of 75; each chunk becomes one window
 *   `[bos, ...75, eos, pad...]` of 77 ids, and the windows' outputs are concatenated along the token axis,
 *   so a long prompt is never cut off (PMG repeats preference keywords and relies on this).
 * - Spans: every span is encoded SEPARATELY in its own window(s), exactly as if it were a plain prompt,
 *   the span's whole output (start, end and padding positions included) is multiplied by its weight, and
 *   the spans' outputs are concatenated on the token axis in order (PMG's `embed` mode: target and
 *   preference parts encoded separately and scaled by w_t and w_p before they are joined).
 * A prompt may be padded with empty windows (`[bos, eos, pad...]`, weight 1) up to a minimum window count
 * (a negative prompt is padded to its positive prompt's count). All windows of all prompts of a call go
 * through the text encoder in one batch; every prompt keeps its own window count.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { TextEncoder } from '../spec/diffusion-models.js';
import type { FloatTensor } from '../spec/tensor.js';

export interface PromptSpan {
  text: string;
  /** Scale of this span's embeddings (default 1). */
  weight?: number;
}

/** Plain text, or spans encoded separately and scaled by their weights. */
export type PromptInput = string | readonly PromptSpan[];

/** Longest prompt accepted, in characters (all spans together). */
export const MAX_PROMPT_CHARS = 10_000;
/** Most 77-token windows per prompt, all spans together (32 x 75 = 2,400 tokens). */
export const MAX_PROMPT_CHUNKS = 32;

/** One separately encoded part of a prompt: the whole text of a plain prompt, or one span. */
export interface TokenizedSegment {
  /** Token ids without start/end tokens. */
  ids: number[];
  /** Factor applied to the segment's whole output. */
  weight: number;
}

export interface TokenizedPrompt {
  /** Token ids of all segments, without start/end tokens. */
  ids: number[];
  /** One weight per id (its segment's weight). */
  weights: number[];
  /** The separately encoded parts: one for plain text, one per span. */
  segments: TokenizedSegment[];
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
  const segments: TokenizedSegment[] = [];
  for (const span of promptSpans(prompt)) {
    const weight = span.weight ?? 1;
    if (!Number.isFinite(weight)) throw new PmgError('invalid-argument', `${what} has a span with weight ${weight}; weights must be finite numbers`);
    const spanIds = encoder.tokenize(span.text);
    segments.push({ ids: spanIds, weight });
    for (const id of spanIds) {
      ids.push(id);
      weights.push(weight);
    }
  }
  const tokenized = { ids, weights, segments };
  const windows = windowCount(encoder, tokenized);
  if (windows > MAX_PROMPT_CHUNKS) {
    throw new PmgError(
      'invalid-argument',
      `${what} has ${ids.length} tokens (${windows} chunks of ${encoder.maxLength - 2}); the limit is ${MAX_PROMPT_CHUNKS} chunks`,
      {
        details: { field: what, tokens: ids.length },
      },
    );
  }
  return tokenized;
}

/** Number of windows a text of `tokenCount` tokens needs (at least 1). */
export function chunkCount(encoder: TextEncoder, tokenCount: number): number {
  return Math.max(1, Math.ceil(tokenCount / (encoder.maxLength - 2)));
}

/** Windows a tokenized prompt needs without padding: the sum over its segments (an empty span list: 1). */
export function windowCount(encoder: TextEncoder, prompt: TokenizedPrompt): number {
  return Math.max(
    1,
    prompt.segments.reduce((sum, s) => sum + chunkCount(encoder, s.ids.length), 0),
  );
}

/**
 * The windows of one prompt (each segment's own windows, in order, then empty windows up to `minChunks`)
 * and the factor of every window.
 */
export function promptWindows(encoder: TextEncoder, prompt: TokenizedPrompt, minChunks = 1): { windows: number[][]; windowWeights: number[] } {
  const body = encoder.maxLength - 2;
  const windows: number[][] = [];
  const windowWeights: number[] = [];
  const push = (ids: number[], weight: number): void => {
    const window = [encoder.bosTokenId, ...ids, encoder.eosTokenId];
    while (window.length < encoder.maxLength) window.push(encoder.padTokenId);
    windows.push(window);
    windowWeights.push(weight);
  };
  for (const segment of prompt.segments) {
    const chunks = chunkCount(encoder, segment.ids.length);
    for (let c = 0; c < chunks; c++) push(segment.ids.slice(c * body, (c + 1) * body), segment.weight);
  }
  while (windows.length < minChunks) push([], 1);
  return { windows, windowWeights };
}

export interface EncodePromptsOptions {
  /** Pad each prompt with empty windows to at least this many (one number for all, or one per prompt). */
  minChunks?: number | readonly number[];
  /** Names of the prompts for error messages. */
  names?: readonly string[];
}

/**
 * Encode several prompts to `[1, windows*77, hidden]` each, in ONE text-encoder call. Every prompt keeps
 * its own window count (at least its `minChunks`); no prompt is padded because of another.
 */
export async function encodePrompts(encoder: TextEncoder, prompts: readonly PromptInput[], options: EncodePromptsOptions = {}): Promise<FloatTensor[]> {
  const tokenized = prompts.map((p, i) => tokenizePrompt(encoder, p, options.names?.[i] ?? 'prompt'));
  return encodeTokenized(encoder, tokenized, options.minChunks);
}

/** `encodePrompts` for prompts already tokenized. */
export async function encodeTokenized(
  encoder: TextEncoder,
  prompts: readonly TokenizedPrompt[],
  minChunks: number | readonly number[] = 1,
): Promise<FloatTensor[]> {
  if (prompts.length === 0) return [];
  const all = prompts.map((t, i) => promptWindows(encoder, t, typeof minChunks === 'number' ? minChunks : (minChunks[i] ?? 1)));
  const hidden = await encoder.encode(all.flatMap((a) => a.windows));
  const width = encoder.hiddenSize;
  const perWindow = encoder.maxLength * width;
  let offset = 0;
  return all.map((a) => {
    const data = hidden.data.slice(offset * perWindow, (offset + a.windows.length) * perWindow);
    offset += a.windows.length;
    a.windowWeights.forEach((weight, w) => {
      if (weight === 1) return;
      const part = data.subarray(w * perWindow, (w + 1) * perWindow);
      for (let k = 0; k < part.length; k++) part[k] = part[k]! * weight;
    });
    return { data, dims: [1, a.windows.length * encoder.maxLength, width] };
  });
}

/** Convenience: one prompt (text or weighted spans) -> `[1, tokens, hidden]`. */
export async function encodePrompt(encoder: TextEncoder, prompt: PromptInput, minChunks = 1): Promise<FloatTensor> {
  const [out] = await encodePrompts(encoder, [prompt], { minChunks });
  return out!;
}
