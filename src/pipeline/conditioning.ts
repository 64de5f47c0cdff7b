/**
 * Conditioning of a batch of candidates: each candidate's text (or ready embeddings), its negative
 * prompt, and extra conditioning tokens appended after the text (PMG's soft preference tokens).
 * All candidates end up with the same number of tokens, so they run in one batched UNet call.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { TextEncoder } from '../spec/diffusion-models.js';
import type { FloatTensor } from '../spec/tensor.js';
import { encodePrompts, type PromptInput } from './prompt-encoding.js';

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
  // Encode every text (positive and negative) in one call, padded to the same chunk count.
  const texts: PromptInput[] = [];
  const names: string[] = [];
  const slots = candidates.map((c, i) => {
    const slot: { cond?: number; uncond?: number } = {};
    if (!c.promptEmbeds) {
      slot.cond = texts.push(c.prompt ?? '') - 1;
      names.push(candidates.length > 1 ? `prompt ${i}` : 'prompt');
    }
    if (!c.negativePromptEmbeds) {
      slot.uncond = texts.push(c.negativePrompt ?? '') - 1;
      names.push(candidates.length > 1 ? `negative prompt ${i}` : 'negative prompt');
    }
    return slot;
  });
  const embedsTokens = candidates.flatMap((c) => [c.promptEmbeds, c.negativePromptEmbeds]).filter((t): t is FloatTensor => t !== undefined);
  for (const t of embedsTokens) checkStates(t, width, 'prompt embeddings');
  const minChunks = embedsTokens.length ? Math.max(1, Math.ceil(Math.max(...embedsTokens.map(tokenCount)) / encoder.maxLength)) : 1;
  const encoded = await encodePrompts(encoder, texts, { minChunks, names });

  const result = candidates.map((c, i) => {
    let cond = c.promptEmbeds ?? encoded[slots[i]!.cond!]!;
    let uncond = c.negativePromptEmbeds ?? encoded[slots[i]!.uncond!]!;
    if (c.extraTokens) {
      const extra = asStates(c.extraTokens, width, 'extra tokens');
      cond = concatTokens(cond, extra);
      uncond = concatTokens(uncond, c.uncondExtraTokens ? asStates(c.uncondExtraTokens, width, 'unconditional extra tokens') : repeatLastToken(uncond, tokenCount(extra)));
    }
    return { cond: toStates(cond, width), uncond: toStates(uncond, width) };
  });
  const lengths = new Set(result.flatMap((r) => [tokenCount(r.cond), tokenCount(r.uncond)]));
  if (lengths.size > 1) {
    throw new PmgError('invalid-argument', `conditioning of the batch has different token counts (${[...lengths].join(', ')}); give every candidate the same number of extra tokens and embeddings of the same length`);
  }
  return result;
}

function tokenCount(t: FloatTensor): number {
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
