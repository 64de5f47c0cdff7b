/**
 * One user's soft preference embeddings (method.md §3; docs/soft.md): the scene's soft prompt template
 * (assets/prompts/<scene>-soft.json) filled with the verbalized history → the LLM body's tokenizer → its embedding
 * rows → the module's N multimodal tokens appended → one forward pass with the module's prefix as the initial key/value
 * cache (prefix-cache.ts; attention mask P + T + N ones, positions P..) → the final-norm hidden states at the last N
 * positions → the map (y = W·h + b) → N tokens of the generator's text width. As in the paper's code, the tokens sit
 * right after the prompt and are read at their own positions; nothing follows them (padding after them would not
 * change them: attention is causal).
 *
 * A history whose prompt, with the P prefix positions and the N tokens, would pass the positions the LLM was made for
 * (`maxPositions`) is cut to its most recent items that fit (`fitSoftPrompt`; a warning says how many were left out).
 *
 * The result is cached (soft-cache.ts) by LLM fingerprint, module fingerprint, template name and version and the
 * rendered prompt, so a user's tokens are computed once and reused by every candidate and method.
 */
import { PmgError } from '../errors/pmg-error.js';
import { renderPrompt, type PromptSet } from '../personalize/prompts.js';
import { numberedItems, verbalizeEach, verbalizeItems, type CaptionImage } from '../personalize/verbalize.js';
import type { History, Scene } from '../spec/behaviour.js';
import type { LlmBody } from '../spec/llm-body.js';
import type { FloatTensor } from '../spec/tensor.js';
import { linearRows, modulePrefixCache } from './prefix-cache.js';
import { softCacheKey, type SoftCache } from './soft-cache.js';
import { softTemplateName } from './soft-config.js';
import { checkSoftScene } from './soft-fit.js';
import type { SoftModule } from './soft-module.js';

export interface SoftTokensInput {
  scene: Scene;
  history: History;
  module: SoftModule;
  body: LlmBody;
  prompts: PromptSet;
  cache?: SoftCache;
  captioner?: CaptionImage;
  /** Told when the template's version differs from the one the module was made with. */
  warn?: (message: string) => void;
}

export interface SoftTokens {
  /** `[N, condWidth]`, before the soft weight w_s. */
  tokens: FloatTensor;
  /** The soft prompt as the LLM read it (before the N multimodal tokens). */
  prompt: string;
  /** Its token count T (the LLM read P prefix + T + N positions). */
  promptTokens: number;
  template: { name: string; version: string };
  /** True when the tokens came from the cache (no LLM pass). */
  cached: boolean;
}

export async function computeSoftTokens(input: SoftTokensInput): Promise<SoftTokens> {
  const { module, body, scene } = input;
  const { N, hidden, condWidth } = module.config;
  checkSoftScene(module, scene);
  if (input.history.items.length === 0) throw new PmgError('invalid-input', `the ${scene} history has no items; the soft prompt needs at least one`);
  const template = input.prompts[softTemplateName(scene)];
  if (template.version !== module.config.template.version) {
    input.warn?.(
      `soft module ${module.source} was made with ${template.name} version ${module.config.template.version}; this run's template is version ${template.version} (${template.source})`,
    );
  }
  const { prompt, ids, omitted } = await fitSoftPrompt(body, module, scene, input.history, input.prompts, input.captioner);
  if (omitted > 0)
    input.warn?.(
      `the soft prompt of all ${input.history.items.length} history items passes the ${body.config.maxPositions} positions of the LLM body ${body.id}; the ${omitted} oldest were left out`,
    );
  const parts = { llmFingerprint: body.fingerprint, moduleFingerprint: module.fingerprint, template: template.name, templateVersion: template.version, prompt };
  const key = softCacheKey(parts);
  const record = { prompt, promptTokens: ids.length, template: { name: template.name, version: template.version } };
  const hit = input.cache?.get(key, N * condWidth);
  if (hit) return { tokens: { data: hit, dims: [N, condWidth] }, ...record, cached: true };

  const last = await softPositionStates(body, module, ids);
  const tokens = linearRows(last, N, module.tensors.mapWeight, module.tensors.mapBias);
  const at = tokens.findIndex((v) => !Number.isFinite(v));
  if (at >= 0)
    throw new PmgError(
      'no-output-generated',
      `soft tokens of module ${module.source} hold ${tokens[at]} at index ${at}; the LLM body ${body.id} or the module gives non-finite values`,
      { details: { module: module.source } },
    );
  input.cache?.set(key, parts, tokens, [N, condWidth]);
  return { tokens: { data: tokens, dims: [N, condWidth] }, ...record, cached: false };
}

/**
 * The LLM body's final-norm hidden states `[N, hidden]` at the module's N multimodal-token positions, for the soft
 * prompt's token ids `ids` (prefix as the initial cache, tokens appended): what the map reads. The trainer's map-only
 * variant caches them per sample.
 */
export async function softPositionStates(body: LlmBody, module: SoftModule, ids: readonly number[]): Promise<Float32Array> {
  const { N, hidden } = module.config;
  const T = ids.length;
  const embedded = body.embed(ids);
  expectDims(embedded, [1, T, hidden], `the embedding rows of LLM body ${body.id}`);
  const inputs = new Float32Array((T + N) * hidden);
  inputs.set(embedded.data, 0);
  inputs.set(module.tensors.tokens, T * hidden);
  const states = await body.forward({ data: inputs, dims: [1, T + N, hidden] }, modulePrefixCache(module));
  expectDims(states, [1, T + N, hidden], `the hidden states of LLM body ${body.id}`);
  return states.data.slice(T * hidden, (T + N) * hidden);
}

/** The scene's soft prompt for a history, as the LLM reads it (before the N multimodal tokens). */
export async function renderSoftPrompt(scene: Scene, history: History, prompts: PromptSet, captioner?: CaptionImage): Promise<string> {
  const items = await verbalizeItems(scene, history.items, captioner ? { captioner } : {});
  return renderPrompt(prompts[softTemplateName(scene)], { items });
}

/**
 * The soft prompt of the most recent history items whose token ids, after the module's P prefix positions and before
 * its N tokens, fit the body's `maxPositions` (all items when the body does not say): its text, its ids and how many
 * of the oldest items were left out. Found by bisection over the number of items kept; items are verbalized once.
 */
export async function fitSoftPrompt(
  body: LlmBody,
  module: SoftModule,
  scene: Scene,
  history: History,
  prompts: PromptSet,
  captioner?: CaptionImage,
): Promise<{ prompt: string; ids: number[]; omitted: number }> {
  const items = await verbalizeEach(scene, history.items, captioner ? { captioner } : {});
  const template = prompts[softTemplateName(scene)];
  const render = (kept: number) => {
    const prompt = renderPrompt(template, { items: numberedItems(items.slice(items.length - kept)) });
    return { prompt, ids: body.tokenize(prompt), omitted: items.length - kept };
  };
  const limit = body.config.maxPositions;
  const fits = (ids: readonly number[]) => limit === undefined || module.config.P + ids.length + module.config.N <= limit;
  const all = render(items.length);
  if (fits(all.ids)) return all;
  let best = render(1);
  if (!fits(best.ids)) {
    throw new PmgError(
      'invalid-input',
      `the soft prompt of the last history item alone is ${best.ids.length} tokens; with the module's ${module.config.P} prefix positions and ${module.config.N} tokens it passes the ${limit} positions of the LLM body ${body.id}; shorten the item's text`,
    );
  }
  let low = 1; // fits
  let high = items.length; // does not fit
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    const candidate = render(middle);
    if (fits(candidate.ids)) {
      low = middle;
      best = candidate;
    } else high = middle;
  }
  return best;
}

function expectDims(t: FloatTensor, dims: number[], what: string): void {
  if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i]) || t.data.length !== dims.reduce((a, b) => a * b, 1)) {
    throw new PmgError('model-layout', `${what} have shape [${t.dims.join(', ')}]; expected [${dims.join(', ')}]`);
  }
}

/** The tokens times the soft weight w_s (a copy). */
export function weightedSoftTokens(tokens: FloatTensor, weight: number): FloatTensor {
  const data = new Float32Array(tokens.data.length);
  for (let i = 0; i < data.length; i++) data[i] = tokens.data[i]! * weight;
  return { data, dims: [...tokens.dims] };
}
