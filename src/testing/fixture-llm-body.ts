/**
 * The tiny LLM's body for tests of the soft branch: the `llm-body/` fixture (builder layout) written into a folder and
 * opened with the real loader, another body of the same shape with other weights (a fingerprint mismatch), and a
 * wrapper that counts forward passes (tests of "computed once").
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TINY_LLM_CONFIG } from '../fixtures/tiny-llm.js';
import { writeTinyLlmBody } from '../fixtures/tiny-llm-body.js';
import { loadLlmBody, type OnnxLlmBody } from '../runtime/llm-body.js';
import type { LlmBody } from '../spec/llm-body.js';

/** `root/llm-body` (written when missing), loaded. */
export async function fixtureLlmBody(root: string): Promise<OnnxLlmBody> {
  const dir = join(root, 'llm-body');
  if (!existsSync(dir)) await writeTinyLlmBody(dir, 'standard');
  return loadLlmBody(dir);
}

/** `root/other-llm-body`: the tiny LLM's shape with weights from another seed, so another fingerprint. */
export async function otherLlmBody(root: string): Promise<OnnxLlmBody> {
  const dir = join(root, 'other-llm-body');
  if (!existsSync(dir)) await writeTinyLlmBody(dir, 'standard', { ...TINY_LLM_CONFIG, seed: TINY_LLM_CONFIG.seed + 1 });
  return loadLlmBody(dir);
}

export type CountingBody = LlmBody & { forwardCalls: number };

/** `body` with a count of its forward passes. */
export function countingBody(body: LlmBody): CountingBody {
  const counting: CountingBody = {
    id: body.id,
    config: body.config,
    fingerprint: body.fingerprint,
    forwardCalls: 0,
    tokenize: (text) => body.tokenize(text),
    embed: (ids) => body.embed(ids),
    forward: (embeds, prefix) => {
      counting.forwardCalls++;
      return body.forward(embeds, prefix);
    },
  };
  return counting;
}
