/**
 * `--llm <spec>` → a LanguageModel.
 *
 *   onnx:<folder or repo id>      a local causal LM through transformers.js (the default; a spec with no
 *                                 prefix is read as onnx:). Repo ids (`owner/name[@revision]`) are resolved
 *                                 through the model store (cache, HF_ENDPOINT mirror, offline mode).
 *   openai:<base URL>[#<model>]   an OpenAI-compatible chat server; the model name comes from `#<model>`
 *                                 or the llmModel option (`--llm-model`); the key from the apiKey option
 *                                 (the CLI reads PMG_LLM_API_KEY).
 */
import { PmgError } from '../../errors/pmg-error.js';
import { ModelStore, modelStoreOptions } from '../../runtime/model-store.js';
import { settingsOf, type Environment, type Settings } from '../../settings/settings.js';
import type { HiddenStateLanguageModel, LanguageModel } from '../../spec/language-model.js';
import { OnnxCausalLanguageModel, onnxCausalLmFiles } from './onnx-causal-lm.js';
import { OpenAiCompatibleLanguageModel, chatCompletionsUrl } from './openai-compatible.js';
import { splitProviderSpec } from '../provider-spec.js';

export const llmProviderPrefixes = ['onnx:', 'openai:'] as const;

export type LlmSpec = { provider: 'onnx'; model: string } | { provider: 'openai'; baseUrl: string; model?: string };

export interface CreateLanguageModelOptions {
  /** Model name on an openai: server (`--llm-model`); overrides a `#model` in the spec. */
  llmModel?: string;
  /** API key for openai: servers (the CLI passes PMG_LLM_API_KEY). */
  apiKey?: string;
  /** Per-request timeout for openai: servers, ms. */
  timeoutMs?: number;
  /** Retries on retryable failures for openai: servers. */
  retries?: number;
  /** Model store for onnx: repo ids; default one built from the settings. */
  store?: ModelStore;
  /** Settings (timeouts, the default store); default: those of `env`. */
  settings?: Settings;
  /** Environment the settings are read from when none are given; default processSettings(). */
  env?: Environment;
  offline?: boolean;
  device?: 'cpu' | 'cuda';
}

/** Split a `--llm` value into provider and target; throws invalid-argument naming the accepted prefixes. */
export function parseLlmSpec(spec: string): LlmSpec {
  const trimmed = spec.trim();
  if (!trimmed) throw new PmgError('invalid-argument', `llm is empty; use ${usage}`, { details: { field: 'llm' } });
  const { scheme, target: rest } = splitProviderSpec(trimmed);
  if (scheme === undefined) return { provider: 'onnx', model: trimmed };
  switch (scheme) {
    case 'onnx':
      if (!rest)
        throw new PmgError('invalid-argument', `llm onnx: needs a folder or repo id, e.g. onnx:./models/tiny-llm or onnx:owner/name`, {
          details: { field: 'llm' },
        });
      return { provider: 'onnx', model: rest };
    case 'openai': {
      if (!rest) throw new PmgError('invalid-argument', `llm openai: needs a base URL, e.g. openai:http://127.0.0.1:8080/v1`, { details: { field: 'llm' } });
      const hash = rest.indexOf('#');
      const baseUrl = hash >= 0 ? rest.slice(0, hash) : rest;
      const model = hash >= 0 ? rest.slice(hash + 1) : '';
      chatCompletionsUrl(baseUrl); // validates the URL
      return model ? { provider: 'openai', baseUrl, model } : { provider: 'openai', baseUrl };
    }
    case 'http':
    case 'https':
      throw new PmgError('invalid-argument', `llm '${spec}' looks like a server URL; write it as openai:${trimmed} (and give the model name)`, {
        details: { field: 'llm' },
      });
    default:
      throw new PmgError('invalid-argument', `llm '${spec}': unknown LLM provider '${trimmed.slice(0, scheme.length)}:'; use ${usage}`, {
        details: { spec, field: 'llm' },
      });
  }
}

const usage = `onnx:<folder or repo id> (a local model, the default) or openai:<base URL> (an OpenAI-compatible server)`;

export async function createLanguageModel(spec: string, options: CreateLanguageModelOptions = {}): Promise<LanguageModel> {
  const parsed = parseLlmSpec(spec);
  if (parsed.provider === 'openai') {
    const model = options.llmModel || parsed.model;
    if (!model) {
      throw new PmgError('invalid-argument', `llmModel is missing: ${spec} needs the name of a model the server serves (or write openai:<URL>#<model>)`, {
        details: { field: 'llmModel' },
      });
    }
    return new OpenAiCompatibleLanguageModel({
      baseUrl: parsed.baseUrl,
      model,
      apiKey: options.apiKey,
      timeoutMs: options.timeoutMs ?? settingsOf(options).llm.timeoutMs,
      retries: options.retries,
    });
  }
  const store = options.store ?? new ModelStore(modelStoreOptions(settingsOf(options), options.offline === undefined ? {} : { offline: options.offline }));
  const resolved = await store.resolve(parsed.model, onnxCausalLmFiles('fp32'));
  const id = resolved.local ? `onnx:${resolved.dir}` : `onnx:${resolved.id}@${resolved.commit ?? resolved.revision ?? 'main'}`;
  const llm = new OnnxCausalLanguageModel({ dir: resolved.dir, id, device: options.device });
  await llm.load();
  return llm;
}

/** Environment variable with the per-request timeout of openai: LLM servers, in seconds (default 120). */
export const LLM_TIMEOUT_ENV = 'PMG_LLM_TIMEOUT';

/** Whether a model can return hidden states (the local onnx: models can). */
export function hasHiddenStates(model: LanguageModel): model is HiddenStateLanguageModel {
  return typeof (model as Partial<HiddenStateLanguageModel>).hiddenStates === 'function';
}
