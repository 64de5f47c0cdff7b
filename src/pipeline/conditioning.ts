/**
 * Conditioning of a batch of candidates: each candidate's text (or ready embeddings), its negative
 * prompt, and extra conditioning tokens appended after the text (PMG's soft preference tokens).
 * Every candidate keeps its OWN token length: its negative prompt is padded to the candidate's window
 * count (and its prompt to the negative's, if that is longer), never to another candidate's, so a
 * candidate's conditioning is the same whether it runs alone or in a batch. Candidates of different
 * lengths run in separate UNet calls (DenoiseState groups them by length).
 */
import { PmgError } from '../errors/pmg-error.js';
import type { TextEncoder } from '../spec/diffusion-models.js';
import type { FloatTensor } from '../spec/tensor.js';
import { encodeTokenized, tokenizePrompt, windowCount, type PromptInput, type TokenizedPrompt } from './prompt-encoding.js';

export interface CandidateConditioning {
  /** Text of the candidate (ignored when `promptEmbeds` is given). */
  prompt?: PromptInput;
  /** Ready prompt embeddings `[1, tokens, hidden]`. */
  promptEmbeds?: FloatTensor;
  negativePrompt?: PromptInput;
  negativePromptEmbeds?: FloatTensor;
  /** Extra tokens `[n, hidden]` or `[1, n, hidden]`, appended after the prompt's tokens. */
  extraTokens?: FloatTensor;
  /** What the unconditional half gets in place of the extra tokens (default: copies of its last token). */
  uncondExtraTokens?: FloatTensor;
}

/** Per candidate: conditional and unconditional states, both `[1, tokens, hidden]`. */
export interface EncodedConditioning {
  cond: FloatTensor;
  uncond: FloatTensor;
}

export async function encodeConditioning(encoder: TextEncoder, candidates: readonly CandidateConditioning[]): Promise<EncodedConditioning[]> {
  const width = encoder.hiddenSize;
  const windowsOf = (t: FloatTensor): number => Math.max(1, Math.ceil(tokenCount(t) / encoder.maxLength));
  // Tokenize every text first, so each candidate's window count is known before anything is encoded.
  const texts: TokenizedPrompt[] = [];
  const minChunks: number[] = [];
  const slots = candidates.map((c, i) => {
    const name = (what: string): string => (candidates.length > 1 ? `${what} ${i}` : what);
    if (c.promptEmbeds) checkStates(c.promptEmbeds, width, 'prompt embeddings');
    if (c.negativePromptEmbeds) checkStates(c.negativePromptEmbeds, width, 'negative prompt embeddings');
    const positive = c.promptEmbeds ? undefined : tokenizePrompt(encoder, c.prompt ?? '', name('prompt'));
    const negative = c.negativePromptEmbeds ? undefined : tokenizePrompt(encoder, c.negativePrompt ?? '', name('negative prompt'));
    const positiveWindows = positive ? windowCount(encoder, positive) : windowsOf(c.promptEmbeds!);
    const negativeWindows = negative ? windowCount(encoder, negative) : windowsOf(c.negativePromptEmbeds!);
    const windows = Math.max(positiveWindows, negativeWindows);
    const slot: { cond?: number; uncond?: number } = {};
    if (positive) {
      slot.cond = texts.push(positive) - 1;
      minChunks.push(windows);
    }
    if (negative) {
      slot.uncond = texts.push(negative) - 1;
      minChunks.push(windows);
    }
    return slot;
  });
  // All windows of all texts in one text-encoder call; each text keeps its own window count.
  const encoded = await encodeTokenized(encoder, texts, minChunks);

  return candidates.map((c, i) => {
    let cond = c.promptEmbeds ?? encoded[slots[i]!.cond!]!;
    let uncond = c.negativePromptEmbeds ?? encoded[slots[i]!.uncond!]!;
    if (c.extraTokens) {
      const extra = asStates(c.extraTokens, width, 'extra tokens');
      cond = concatTokens(cond, extra);
      uncond = concatTokens(
        uncond,
        c.uncondExtraTokens ? asStates(c.uncondExtraTokens, width, 'unconditional extra tokens') : repeatLastToken(uncond, tokenCount(extra)),
      );
    }
    return { cond: toStates(cond, width), uncond: toStates(uncond, width) };
  });
}

export function tokenCount(t: FloatTensor): number {
  return t.dims.length === 3 ? t.dims[1]! : t.dims[0]!;
}

function checkStates(t: FloatTensor, width: number, what: string): void {
  const ok = (t.dims.length === 3 && t.dims[0] === 1 && t.dims[2] === width) || (t.dims.length === 2 && t.dims[1] === width);
  if (!ok || t.data.length !== t.dims.reduce((a, b) => a * b, 1)) {
    throw new PmgError('invalid-argument', `${what} have shape [${t.dims.join(', ')}]; expected [n, ${width}] or [1, n, ${width}] for this model's text width`);
  }
}

function asStates(t: FloatTensor, width: number, what: string): FloatTensor {
  checkStates(t, width, what);
  return toStates(t, width);
}

function toStates(t: FloatTensor, width: number): FloatTensor {
  return { data: t.data, dims: [1, t.data.length / width, width] };
}

export function concatTokens(a: FloatTensor, b: FloatTensor): FloatTensor {
  const width = a.dims.at(-1)!;
  const data = new Float32Array(a.data.length + b.data.length);
  data.set(a.data, 0);
  data.set(b.data, a.data.length);
  return { data, dims: [1, data.length / width, width] };
}

function repeatLastToken(t: FloatTensor, count: number): FloatTensor {
  const width = t.dims.at(-1)!;
  const last = t.data.subarray(t.data.length - width);
  const data = new Float32Array(count * width);
  for (let i = 0; i < count; i++) data.set(last, i * width);
  return { data, dims: [1, count, width] };
}
