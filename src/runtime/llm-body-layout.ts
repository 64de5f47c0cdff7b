/**
 * What an LLM body folder holds, read from its description file. Two routes, ONE reader:
 *
 *  - onnxruntime-genai model-builder exports made with `--extra_options exclude_embeds=true exclude_lm_head=true`:
 *    `genai_config.json` (its `model.decoder` gives the file name, hidden_size, head_size, num_attention_heads,
 *    num_key_value_heads, num_hidden_layers and the input/output names; `model.vocab_size`), graph output
 *    `hidden_states`;
 *  - folders written by `pmg models prepare-soft`: `pmg-body.json`, whose `model` object has the same shape as
 *    genai_config.json's (decoder names and dimensions; `decoder.outputs.hidden_states` names the hidden-state output,
 *    `last_hidden_state`), plus `embeddings` and `source` records (see PMG_BODY_FORMAT and docs/soft.md).
 *
 * Either way the embedding table is `embed_tokens.safetensors` beside the graph (llm-body-embeddings.ts). A
 * `config.json` (transformers) beside it, when present, must agree with the dimensions. A folder with neither file,
 * or a builder export that still takes input_ids, is one line saying what to do.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseJson } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';
import type { LlmBodyConfig } from '../spec/llm-body.js';
import { EMBED_TOKENS_FILE } from './llm-body-embeddings.js';

export const GENAI_CONFIG_FILE = 'genai_config.json';
export const PMG_BODY_FILE = 'pmg-body.json';
/** `format` of pmg-body.json. */
export const PMG_BODY_FORMAT = 'pmg-llm-body';
export const PMG_BODY_FORMAT_VERSION = 1;

export type LlmBodyRoute = 'onnxruntime-genai' | 'prepare-soft';

export interface LlmBodyLayout {
  route: LlmBodyRoute;
  dir: string;
  /** The description file read (genai_config.json or pmg-body.json). */
  describedBy: string;
  modelFile: string;
  config: LlmBodyConfig;
  inputs: { embeds: string; mask: string; positions?: string; pastKeys: string[]; pastValues: string[] };
  outputs: { hidden: string; presentKeys: string[]; presentValues: string[] };
  embeddingsFile: string;
  /** External-data files of the graph, when the description lists them (pmg-body.json's external_data). */
  externalData: string[];
}

/** The `model` object both description files share (genai_config.json's shape). */
export interface DecoderDescription {
  type?: string;
  vocab_size: number;
  decoder: {
    filename: string;
    hidden_size: number;
    head_size: number;
    num_attention_heads: number;
    num_key_value_heads: number;
    num_hidden_layers: number;
    inputs: Record<string, string>;
    outputs: Record<string, string>;
  };
}

const HOW_TO_MAKE =
  "an LLM body is an onnxruntime-genai builder export made with '--extra_options exclude_embeds=true exclude_lm_head=true' (genai_config.json, model.onnx, embed_tokens.safetensors) or a folder written by 'pmg models prepare-soft' (pmg-body.json)";

function refuse(message: string, dir: string): never {
  throw new PmgError('model-layout', message, { details: { dir } });
}

function readObject(path: string): Record<string, unknown> {
  const value = parseJson(readFileSync(path, 'utf8'), path);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new PmgError('invalid-input', `${path} must hold a JSON object`, { details: { file: path } });
  return value as Record<string, unknown>;
}

/**
 * Read the layout of the body folder `dir`; `name` (the spec the user gave) is used in messages. `graphPresent:
 * false` skips the check that the graph file exists (a hub repo whose description was pulled first).
 */
export function readLlmBodyLayout(dir: string, name: string, options: { graphPresent?: boolean } = {}): LlmBodyLayout {
  const checkGraph = options.graphPresent ?? true;
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new PmgError('model-not-found', `LLM body ${name}: folder ${dir} does not exist`, { details: { dir } });
  const genai = join(dir, GENAI_CONFIG_FILE);
  const pmg = join(dir, PMG_BODY_FILE);
  if (existsSync(pmg)) {
    const file = readObject(pmg);
    if (file.format !== PMG_BODY_FORMAT || file.format_version !== PMG_BODY_FORMAT_VERSION) {
      refuse(
        `LLM body ${name}: ${pmg} has format ${JSON.stringify(file.format)} version ${JSON.stringify(file.format_version)}; this pmg reads '${PMG_BODY_FORMAT}' version ${PMG_BODY_FORMAT_VERSION}`,
        dir,
      );
    }
    const embeddings = file.embeddings as { filename?: unknown } | undefined;
    const embeddingsName = typeof embeddings?.filename === 'string' ? embeddings.filename : EMBED_TOKENS_FILE;
    const externalData = Array.isArray(file.external_data) ? file.external_data.filter((f): f is string => typeof f === 'string') : [];
    return layoutOf(dir, name, 'prepare-soft', pmg, file.model, embeddingsName, externalData, checkGraph);
  }
  if (existsSync(genai)) return layoutOf(dir, name, 'onnxruntime-genai', genai, readObject(genai).model, EMBED_TOKENS_FILE, [], checkGraph);
  const textGeneration = existsSync(join(dir, 'onnx')) && existsSync(join(dir, 'config.json'));
  refuse(
    textGeneration
      ? `LLM body ${name}: ${dir} looks like a transformers.js text-generation export (onnx/, config.json), which takes token ids; make a body from it with 'pmg models prepare-soft ${name} --out DIR'`
      : `LLM body ${name}: ${dir} has neither ${GENAI_CONFIG_FILE} nor ${PMG_BODY_FILE}; ${HOW_TO_MAKE}`,
    dir,
  );
}

function layoutOf(
  dir: string,
  name: string,
  route: LlmBodyRoute,
  describedBy: string,
  model: unknown,
  embeddingsName: string,
  externalData: string[],
  checkGraph: boolean,
): LlmBodyLayout {
  const where = `LLM body ${name}: ${describedBy}`;
  if (typeof model !== 'object' || model === null) refuse(`${where} has no "model" object`, dir);
  const m = model as Record<string, unknown>;
  const decoder = m.decoder as Record<string, unknown> | undefined;
  if (typeof decoder !== 'object' || decoder === null) refuse(`${where} has no "model.decoder" object`, dir);
  const positive = (value: unknown, field: string): number => {
    if (!Number.isSafeInteger(value) || (value as number) < 1)
      refuse(`${where}: ${field} must be a positive integer, got ${JSON.stringify(value ?? null)}`, dir);
    return value as number;
  };
  const text = (value: unknown, field: string): string => {
    if (typeof value !== 'string' || value === '') refuse(`${where}: ${field} must be a non-empty string, got ${JSON.stringify(value ?? null)}`, dir);
    return value;
  };
  const inputs = (decoder.inputs ?? {}) as Record<string, unknown>;
  const outputs = (decoder.outputs ?? {}) as Record<string, unknown>;
  if (inputs.inputs_embeds === undefined) {
    refuse(
      inputs.input_ids !== undefined
        ? `${where}: the model takes input_ids, so it was exported without exclude_embeds; re-export with '--extra_options exclude_embeds=true exclude_lm_head=true'`
        : `${where}: model.decoder.inputs names no inputs_embeds input`,
      dir,
    );
  }
  const config: LlmBodyConfig = {
    hidden: positive(decoder.hidden_size, 'model.decoder.hidden_size'),
    layers: positive(decoder.num_hidden_layers, 'model.decoder.num_hidden_layers'),
    heads: positive(decoder.num_attention_heads, 'model.decoder.num_attention_heads'),
    kvHeads: positive(decoder.num_key_value_heads ?? decoder.num_attention_heads, 'model.decoder.num_key_value_heads'),
    headDim: positive(decoder.head_size, 'model.decoder.head_size'),
    vocabSize: positive(m.vocab_size, 'model.vocab_size'),
  };
  const maxPositions = m.context_length !== undefined ? positive(m.context_length, 'model.context_length') : transformersMaxPositions(dir);
  if (maxPositions !== undefined) config.maxPositions = maxPositions;
  if (config.heads % config.kvHeads !== 0) refuse(`${where}: ${config.heads} attention heads are not a multiple of ${config.kvHeads} key/value heads`, dir);
  checkTransformersConfig(dir, name, config);
  const perLayer = (template: unknown, fallback: string, field: string): string[] => {
    const pattern = template === undefined ? fallback : text(template, field);
    if (!pattern.includes('%d')) refuse(`${where}: ${field} must contain %d (the layer index), got ${JSON.stringify(pattern)}`, dir);
    return Array.from({ length: config.layers }, (_, i) => pattern.replace('%d', String(i)));
  };
  const modelFile = join(dir, text(decoder.filename ?? 'model.onnx', 'model.decoder.filename'));
  if (checkGraph && !existsSync(modelFile))
    throw new PmgError('model-file-missing', `${where} names the graph ${modelFile}, which is missing`, { details: { dir, file: modelFile } });
  return {
    route,
    dir,
    describedBy,
    modelFile,
    config,
    inputs: {
      embeds: text(inputs.inputs_embeds, 'model.decoder.inputs.inputs_embeds'),
      mask: text(inputs.attention_mask ?? 'attention_mask', 'model.decoder.inputs.attention_mask'),
      ...(inputs.position_ids !== undefined ? { positions: text(inputs.position_ids, 'model.decoder.inputs.position_ids') } : {}),
      pastKeys: perLayer(inputs.past_key_names, 'past_key_values.%d.key', 'model.decoder.inputs.past_key_names'),
      pastValues: perLayer(inputs.past_value_names, 'past_key_values.%d.value', 'model.decoder.inputs.past_value_names'),
    },
    outputs: {
      hidden: text(outputs.hidden_states ?? 'hidden_states', 'model.decoder.outputs.hidden_states'),
      presentKeys: perLayer(outputs.present_key_names, 'present.%d.key', 'model.decoder.outputs.present_key_names'),
      presentValues: perLayer(outputs.present_value_names, 'present.%d.value', 'model.decoder.outputs.present_value_names'),
    },
    embeddingsFile: join(dir, embeddingsName),
    externalData,
  };
}

/** `max_position_embeddings` of a transformers config.json beside the body, if any. */
function transformersMaxPositions(dir: string): number | undefined {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) return undefined;
  const value = readObject(path).max_position_embeddings;
  return Number.isSafeInteger(value) && (value as number) > 0 ? (value as number) : undefined;
}

/** A transformers config.json beside the body must describe the same dimensions. */
function checkTransformersConfig(dir: string, name: string, config: LlmBodyConfig): void {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) return;
  const c = readObject(path);
  const heads = c.num_attention_heads;
  const hidden = c.hidden_size;
  const derivedHeadDim = typeof hidden === 'number' && typeof heads === 'number' && heads > 0 ? hidden / heads : undefined;
  const pairs: Array<[string, unknown, number]> = [
    ['hidden_size', hidden, config.hidden],
    ['num_hidden_layers', c.num_hidden_layers, config.layers],
    ['num_attention_heads', heads, config.heads],
    ['num_key_value_heads', c.num_key_value_heads ?? heads, config.kvHeads],
    ['head_dim', c.head_dim ?? derivedHeadDim, config.headDim],
    ['vocab_size', c.vocab_size, config.vocabSize],
  ];
  for (const [field, value, expected] of pairs) {
    if (value !== undefined && value !== null && value !== expected) {
      refuse(
        `LLM body ${name}: ${path} says ${field} ${JSON.stringify(value)} but the body's description says ${expected}; the files come from different models`,
        dir,
      );
    }
  }
}
