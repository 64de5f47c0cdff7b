/**
 * The three models one PMG run uses: an LLM (keywords), CLIP (scores) and Stable Diffusion (images).
 *
 * `models` is a preset name (presets.ts; default `fast`) or a folder laid out like `pmg models fixtures`
 * writes it (`llm/`, `clip/`, `sd/`); `llm`, `clip` and `sd` override one part each. Hub repo ids are
 * pulled through the model store with the files (and whole folders, so ONNX external-data sidecars such
 * as `unet/weights.pb` come along) each loader needs.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { loadStableDiffusion, type ModelResolver } from '../providers/image/onnx-stable-diffusion.js';
import { OnnxCausalLanguageModel, onnxCausalLmFiles } from '../providers/llm/onnx-causal-lm.js';
import { createLanguageModel, parseLlmSpec } from '../providers/llm/registry.js';
import type { ModelStore } from '../runtime/model-store.js';
import { loadClip, type ClipModel, type TransformersDtype } from '../runtime/transformers-models.js';
import type { StableDiffusionModel } from '../spec/diffusion-models.js';
import type { LanguageModel } from '../spec/language-model.js';
import { DEFAULT_PRESET, isPresetName, presetNames, presets, type ModelPreset } from './presets.js';

export interface ModelSetSpec {
  /** A folder laid out like `pmg models fixtures` writes it (llm/, clip/, sd/) or a preset name. */
  models?: string;
  llm?: string;
  llmModel?: string;
  clip?: string;
  sd?: string;
  device?: 'cpu' | 'cuda';
  threads?: number;
}

export interface ModelSet {
  llm: LanguageModel;
  clip: ClipModel;
  sd: StableDiffusionModel;
  ids: { llm: string; clip: string; sd: string };
  /** The preset the models came from (its steps/guidance/size are the run's defaults). */
  preset?: ModelPreset;
  close(): Promise<void>;
}

export interface LoadModelSetOptions {
  store: ModelStore;
  env: NodeJS.ProcessEnv;
  offline: boolean;
  warn?: (message: string) => void;
}

/** The specs a ModelSetSpec stands for, without loading anything. */
export interface ResolvedModelSpecs {
  llm: string;
  llmModel?: string;
  llmDtype?: TransformersDtype;
  clip: string;
  sd: string;
  preset?: ModelPreset;
}

/** Files of a CLIP folder in the transformers.js layout (fp32 towers). */
export const CLIP_FILES = [
  'config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
  'onnx/text_model.onnx',
  'onnx/vision_model.onnx',
  'onnx/text_model.onnx_data',
  'onnx/vision_model.onnx_data',
];

/** What a diffusers ONNX repo needs: whole folders, so external-data sidecars come along. */
export const SD_INCLUDE = ['model_index.json', 'text_encoder/', 'tokenizer/', 'unet/', 'vae_decoder/', 'scheduler/', 'vae/config.json'];

/** Turn `--models` and the overrides into one spec per part. */
export function resolveModelSpecs(spec: ModelSetSpec, cwd: string): ResolvedModelSpecs {
  const models = spec.models?.trim();
  if (spec.models !== undefined && !models) throw new PmgError('invalid-argument', `--models is empty; give a folder (llm/, clip/, sd/) or a preset: ${presetNames.join(', ')}`);
  let base: { llm?: string; llmModel?: string; llmDtype?: TransformersDtype; clip?: string; sd?: string; preset?: ModelPreset };
  if (models === undefined) {
    const preset = presets[DEFAULT_PRESET];
    base = spec.llm && spec.clip && spec.sd ? {} : { ...preset, preset };
  } else if (isPresetName(models)) {
    const preset = presets[models];
    base = { ...preset, preset };
  } else {
    const dir = resolvePath(cwd, models);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new PmgError('invalid-argument', `--models '${models}' is neither a folder nor a preset; give a folder laid out like 'pmg models fixtures DIR' writes it (llm/, clip/, sd/) or one of: ${presetNames.join(', ')}`);
    }
    const part = (name: string, given: string | undefined): string | undefined => {
      if (given) return undefined;
      const path = join(dir, name);
      if (!existsSync(path)) throw new PmgError('model-not-found', `--models folder ${dir} has no ${name}/ folder; it needs llm/, clip/ and sd/ (write one with 'pmg models fixtures DIR'), or pass --${name}`);
      return path;
    };
    const llmDir = part('llm', spec.llm);
    base = { llm: llmDir && `onnx:${llmDir}`, clip: part('clip', spec.clip), sd: part('sd', spec.sd) };
  }
  const llm = spec.llm ?? base.llm;
  const clip = spec.clip ?? base.clip;
  const sd = spec.sd ?? base.sd;
  if (!llm || !clip || !sd) throw new PmgError('invalid-argument', 'incomplete model set; pass --models <folder|preset> or all of --llm, --clip and --sd');
  return {
    llm,
    llmModel: spec.llmModel ?? (spec.llm ? undefined : base.llmModel),
    llmDtype: spec.llm ? undefined : base.llmDtype,
    clip,
    sd,
    preset: base.preset,
  };
}

export async function loadModelSet(spec: ModelSetSpec, options: LoadModelSetOptions): Promise<ModelSet> {
  const { store } = options;
  const specs = resolveModelSpecs(spec, store.options.cwd);
  const device = spec.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new PmgError('invalid-argument', `device must be cpu or cuda, got '${String(device)}'`);
  const llm = await loadLlm(specs, device, options);
  try {
    const { clip, id: clipId } = await loadClipModel(specs.clip, device, store);
    const sd = await loadStableDiffusion(specs.sd, { resolve: pullingResolver(store), device, threads: spec.threads, warn: options.warn, optimizedCacheDir: store.options.cacheDir });
    return {
      llm,
      clip,
      sd,
      ids: { llm: llm.id, clip: clipId, sd: sd.id },
      ...(specs.preset ? { preset: specs.preset } : {}),
      close: async () => {
        await llm.close?.();
      },
    };
  } catch (error) {
    await llm.close?.();
    throw error;
  }
}

async function loadLlm(specs: ResolvedModelSpecs, device: 'cpu' | 'cuda', options: LoadModelSetOptions): Promise<LanguageModel> {
  const parsed = parseLlmSpec(specs.llm);
  if (parsed.provider === 'onnx' && options.store.parse(parsed.model).kind === 'hub') {
    // Pull the files of the chosen weight variant (and its sidecars) only.
    const dtype = specs.llmDtype ?? 'fp32';
    const { files, optionalFiles } = onnxCausalLmFiles(dtype);
    const pulled = await options.store.pull(parsed.model, { include: [...files, ...optionalFiles] });
    const llm = new OnnxCausalLanguageModel({ dir: pulled.dir, id: `onnx:${pulled.id}@${pulled.commit ?? pulled.revision ?? 'main'}${dtype === 'fp32' ? '' : `#${dtype}`}`, device, dtype });
    await llm.load();
    return llm;
  }
  return createLanguageModel(specs.llm, {
    llmModel: specs.llmModel,
    apiKey: options.env.PMG_LLM_API_KEY,
    store: options.store,
    env: options.env,
    offline: options.offline,
    device,
  });
}

async function loadClipModel(spec: string, device: 'cpu' | 'cuda', store: ModelStore): Promise<{ clip: ClipModel; id: string }> {
  const parsed = store.parse(spec);
  if (parsed.kind === 'local') return { clip: await loadClip(parsed.dir, { device }), id: parsed.dir };
  const pulled = await store.pull(spec, { include: CLIP_FILES });
  return { clip: await loadClip(pulled.dir, { device }), id: `${pulled.id}@${pulled.commit ?? pulled.revision ?? 'main'}` };
}

/** Local folders go to the layout check as they are; hub ids pull whole model folders (a base tokenizer: only its files). */
export function pullingResolver(store: ModelStore): ModelResolver {
  return async (spec, files, optionalFiles, purpose) => {
    const parsed = store.parse(spec);
    if (parsed.kind === 'local') {
      const resolved = await store.resolve(spec);
      return { dir: resolved.dir, id: resolved.dir };
    }
    if (purpose === 'tokenizer') {
      const resolved = await store.resolve(spec, { files: [...files], optionalFiles: [...optionalFiles] });
      return { dir: resolved.dir, id: `${resolved.id}@${resolved.commit ?? resolved.revision ?? 'main'}` };
    }
    const pulled = await store.pull(spec, { include: SD_INCLUDE });
    return { dir: pulled.dir, id: `${pulled.id}@${pulled.commit ?? pulled.revision ?? 'main'}`, cached: true };
  };
}
