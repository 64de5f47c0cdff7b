/**
 * Explicit preference extraction (method.md 1.2): verbalize the behaviour, fill the scene's
 * prompt templates, ask the frozen LLM (greedy, 100 new tokens, stop at `###`), parse.
 * - movie / fashion: preference keywords (single prompt, attribute-wise two steps, or JSON),
 *   and target keywords from the target item (movies: ask 10 poster keywords, use the first 5).
 * - sticker: preference = the favourite character from the sticker history; target =
 *   emotion, expression and posture read from the current conversation.
 * Answers are cached per prompt (keyword-cache.ts) when a cache is given.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { History, Scene, Target } from '../spec/behaviour.js';
import type { LanguageModel } from '../spec/language-model.js';
import { keywordCacheKey, type KeywordCache } from './keyword-cache.js';
import { parseCharacter, parseKeywords, parseKeywordsJson, parseStickerAnswer } from './parse-keywords.js';
import { renderPrompt, type PromptSet, type PromptTemplate, type TemplateName } from './prompts.js';
import { verbalizeConversation, verbalizeItem, verbalizeItems, verbalizeTargetItem, type CaptionImage } from './verbalize.js';

export type KeywordVariant = 'single' | 'attribute' | 'structured';
export const keywordVariants: readonly KeywordVariant[] = ['single', 'attribute', 'structured'];

export interface ExtractKeywordsOptions {
  scene: Scene;
  history: History;
  target?: Target;
  llm: LanguageModel;
  prompts: PromptSet;
  cache?: KeywordCache;
  /** Preference keywords wanted (official: 8). */
  count?: number;
  variant?: KeywordVariant;
  /** For items that only have an image. */
  captioner?: CaptionImage;
  /** Official: 100. */
  maxNewTokens?: number;
  signal?: AbortSignal;
}

/** The result, exactly the `pmg keywords --json` shape. */
export interface KeywordResult {
  scene: Scene;
  preference: string[];
  target: string[];
  /** The prompts sent, by step: 'preference', 'target', and 'attribute:<name>' for the attribute variant. */
  prompts: Record<string, string>;
  /** The LLM's raw answers, same keys. */
  raw: Record<string, string>;
  model: string;
  /** True when every answer came from the cache (no LLM call was made). */
  cached: boolean;
}

const stop = ['###'];

export async function extractKeywords(options: ExtractKeywordsOptions): Promise<KeywordResult> {
  const count = options.count ?? 8;
  if (!Number.isInteger(count) || count < 1 || count > 50) {
    throw new PmgError('invalid-argument', `count must be a whole number from 1 to 50, got ${count}`);
  }
  const variant = options.variant ?? 'single';
  if (!keywordVariants.includes(variant)) {
    throw new PmgError('invalid-argument', `variant must be one of ${keywordVariants.join(', ')}, got '${variant}'`);
  }
  const asker = new Asker(options);
  let preference: string[];
  let target: string[] = [];
  if (options.scene === 'sticker') {
    if (variant !== 'single') {
      throw new PmgError('invalid-argument', `variant ${variant}: the sticker scene uses the official two prompts only; leave the variant out`);
    }
    ({ preference, target } = await stickerKeywords(options, asker));
  } else {
    preference = await preferenceKeywords(options, asker, count, variant);
    target = await targetKeywords(options, asker, variant);
  }
  return {
    scene: options.scene,
    preference,
    target,
    prompts: asker.prompts,
    raw: asker.raw,
    model: options.llm.id,
    cached: asker.calls > 0 && asker.hits === asker.calls,
  };
}

/** Sends prompts through the cache and records prompts and answers by step. */
class Asker {
  readonly prompts: Record<string, string> = {};
  readonly raw: Record<string, string> = {};
  calls = 0;
  hits = 0;

  constructor(private readonly options: ExtractKeywordsOptions) {}

  async ask<T>(step: string, template: PromptTemplate, prompt: string, parse: (raw: string) => T, jsonSchema?: Record<string, unknown>): Promise<T> {
    const { llm, cache, scene } = this.options;
    const maxNewTokens = this.options.maxNewTokens ?? 100;
    const parts = {
      model: llm.cacheKey ?? llm.id,
      template: template.name,
      templateVersion: template.version,
      scene,
      prompt,
      settings: { maxNewTokens, stop, jsonSchema: jsonSchema ?? null },
    };
    this.calls++;
    this.prompts[step] = prompt;
    const key = cache ? keywordCacheKey(parts) : '';
    const hit = cache?.get(key);
    if (hit !== undefined) {
      try {
        const parsed = parse(hit);
        this.hits++;
        this.raw[step] = hit;
        return parsed;
      } catch {
        // A stored answer the current parser rejects: ask again.
      }
    }
    const result = await llm.generate(prompt, { maxNewTokens, stop, jsonSchema, signal: this.options.signal });
    this.raw[step] = result.text;
    let parsed: T;
    try {
      parsed = parse(result.text);
    } catch (error) {
      if (error instanceof PmgError) {
        throw new PmgError(error.code, `${step} prompt (${template.name}): ${error.message}`, {
          cause: error,
          details: { ...error.details, step, template: template.name, model: llm.id },
        });
      }
      throw error;
    }
    cache?.set(key, parts, result.text);
    return parsed;
  }
}

function keywordSchema(max: number): Record<string, unknown> {
  return {
    type: 'object',
    properties: { keywords: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: max } },
    required: ['keywords'],
    additionalProperties: false,
  };
}

async function preferenceKeywords(options: ExtractKeywordsOptions, asker: Asker, count: number, variant: KeywordVariant): Promise<string[]> {
  const scene = options.scene as 'movie' | 'fashion';
  if (options.history.items.length === 0) {
    throw new PmgError('invalid-input', `the ${scene} history has no items; give at least one item`);
  }
  const items = await verbalizeItems(scene, options.history.items, { captioner: options.captioner });
  const { prompts, llm } = options;
  if (variant === 'structured' && llm.supportsJsonSchema) {
    const template = prompts[`${scene}-preference-json`];
    const prompt = renderPrompt(template, { count, items });
    return asker.ask('preference', template, prompt, (raw) => parseKeywordsJson(raw, count), keywordSchema(count));
  }
  if (variant === 'attribute') {
    const step1 = prompts[`${scene}-attribute`];
    const per = step1.perAttribute ?? 3;
    const union: string[] = [];
    for (const attribute of step1.attributes ?? []) {
      const prompt = renderPrompt(step1, { count: per, items, attribute });
      for (const k of await asker.ask(`attribute:${attribute}`, step1, prompt, (raw) => parseKeywords(raw, per))) {
        if (!union.includes(k)) union.push(k);
      }
    }
    const select = prompts['select-keywords'];
    const candidates = union.map((k, i) => `${i + 1}. ${k}`).join(' ');
    const prompt = renderPrompt(select, { count, items, candidates, domain: scene === 'movie' ? 'movies' : 'fashion' });
    return asker.ask('preference', select, prompt, (raw) => parseKeywords(raw, count));
  }
  // 'single', and 'structured' on a provider without a JSON-schema mode.
  const template = prompts[`${scene}-preference`];
  return asker.ask('preference', template, renderPrompt(template, { count, items }), (raw) => parseKeywords(raw, count));
}

async function targetKeywords(options: ExtractKeywordsOptions, asker: Asker, variant: KeywordVariant): Promise<string[]> {
  const scene = options.scene as 'movie' | 'fashion';
  const item = options.target?.item;
  if (!options.target) return [];
  if (!item) throw new PmgError('invalid-input', `the ${scene} target needs an item (title, genres, description)`);
  const fields = verbalizeTargetItem(item);
  if (!fields.title) fields.title = await verbalizeItem(scene, item, 0, { captioner: options.captioner });
  const structured = variant === 'structured' && options.llm.supportsJsonSchema;
  const name: TemplateName = structured ? `${scene}-target-json` : `${scene}-target`;
  const template = options.prompts[name];
  const ask = template.ask ?? (scene === 'movie' ? 10 : 8);
  const use = Math.min(template.use ?? 5, ask);
  // An empty field leaves its line out of templates that mark it optional; older override files say 'not given'.
  const field = (name: 'genres' | 'synopsis' | 'category'): string => fields[name] || (template.optional?.includes(name) ? '' : 'not given');
  const prompt = renderPrompt(template, { ask, title: fields.title, genres: field('genres'), synopsis: field('synopsis'), category: field('category') });
  const keywords = structured
    ? await asker.ask('target', template, prompt, (raw) => parseKeywordsJson(raw, ask), keywordSchema(ask))
    : await asker.ask('target', template, prompt, (raw) => parseKeywords(raw, ask));
  return keywords.slice(0, use);
}

async function stickerKeywords(options: ExtractKeywordsOptions, asker: Asker): Promise<{ preference: string[]; target: string[] }> {
  const { history, prompts } = options;
  if (history.items.length === 0) {
    throw new PmgError('invalid-input', 'the sticker history has no items; list the stickers the user sent (title or description each)');
  }
  const items = await verbalizeItems('sticker', history.items, { captioner: options.captioner });
  const characterTemplate = prompts['sticker-character'];
  const character = await asker.ask('preference', characterTemplate, renderPrompt(characterTemplate, { items }), parseCharacter);
  if (options.target && !options.target.conversation) {
    throw new PmgError('invalid-input', 'for stickers the target is the current conversation; give {"conversation": [{"speaker", "text"}, ...]}');
  }
  const turns = options.target?.conversation ?? history.conversation ?? [];
  let target: string[] = [];
  if (turns.length) {
    const template = prompts['sticker-conversation'];
    const prompt = renderPrompt(template, { conversation: verbalizeConversation(turns) });
    const answer = await asker.ask('target', template, prompt, parseStickerAnswer);
    target = [answer.emotion, answer.expression, answer.posture].filter(Boolean);
  }
  return { preference: [character], target };
}
