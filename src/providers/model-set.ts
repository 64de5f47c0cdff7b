/**
 * The models one PMG run uses: an LLM (keywords), CLIP (scores), Stable Diffusion (images) and, optionally, a tiny
 * autoencoder decoder (TAESD) for previews and, when chosen, the final images.
 *
 * `models` is a preset name (presets.ts; default `fast`) or a folder laid out like `pmg models fixtures`
 * writes it (`llm/`, `clip/`, `sd/`, and `taesd/` when present); `llm`, `clip`, `sd` and `decoder` override one part
 * each. Hub repo ids are pulled through the model store with the files (and whole folders, so ONNX external-data
 * sidecars such as `unet/weights.pb` come along) each loader needs.
 *
 * Which decoder makes the final images (`finalDecoder`, the set's default for personalize): the spec's own choice,
 * else 'tiny' when `decoder` names one (asking for a decoder means wanting it), else the preset's (`fast`: tiny),
 * else 'vae'. A folder's `taesd/` is loaded for previews only (final images stay the VAE's unless chosen).
 *
 * `generator` names a remote image generator (`a1111:http://host:port`, `comfyui:http://host:port`; registry.ts)
 * instead of `sd`: the set then has no local Stable Diffusion model (`sd` absent, a folder needs no sd/), no tiny
 * decoder, final images from the server's VAE, and `generator` is the remote one (docs/remote-generators.md).
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import type { ModelResolver } from './image/onnx-stable-diffusion.js';
import { TINY_DECODER_INCLUDE } from './image/tiny-decoder.js';
import { OnnxCausalLanguageModel, onnxCausalLmFiles } from './llm/onnx-causal-lm.js';
import { createLanguageModel, parseLlmSpec } from './llm/registry.js';
import type { ModelStore } from '../runtime/model-store.js';
import { settingsOf, type Environment, type Settings } from '../settings/settings.js';
import { loadClip, type ClipModel, type TransformersDtype } from '../runtime/transformers-models.js';
import { decoderKinds, type DecoderKind, type StableDiffusionModel, type TinyDecoderModel } from '../spec/diffusion-models.js';
import type { ImageGenerator } from '../spec/image-generator.js';
import type { LanguageModel } from '../spec/language-model.js';
import { loadOnnxImageGenerator, OnnxImageGenerator } from './image/onnx-image-generator.js';
import { createProvider, providerFor } from './registry.js';
import { DEFAULT_PRESET, isPresetName, presetNames, presets, type ModelPreset } from './presets.js';

export interface ModelSetSpec {
  /** A folder laid out like `pmg models fixtures` writes it (llm/, clip/, sd/) or a preset name. */
  models?: string;
  llm?: string;
  llmModel?: string;
  clip?: string;
  sd?: string;
  /** A tiny autoencoder decoder (folder or hub id), or 'none' for no tiny decoder (not even the preset's or the folder's). */
  decoder?: string;
  /** Which decoder makes the final images by default (see above). */
  finalDecoder?: DecoderKind;
  device?: 'cpu' | 'cuda';
  threads?: number;
}

/** A model set spec that may name a remote image generator. */
export interface GeneratorModelSetSpec extends ModelSetSpec {
  /** A remote image generator (`a1111:URL`, `comfyui:URL[#ckpt=…]`) instead of `sd`; an `onnx:` spec is the same as `sd`. */
  generator?: string;
}

/** `decoder: 'none'` turns the tiny decoder off. */
export const NO_DECODER = 'none';

export interface ModelSet {
  llm: LanguageModel;
  clip: ClipModel;
  sd: StableDiffusionModel;
  /** The tiny autoencoder decoder (TAESD), when one is loaded: previews always, final images when chosen. */
  decoder?: TinyDecoderModel;
  ids: ModelIds;
  /** The default decoder of the final images (personalize's `finalDecoder` overrides it); 'vae' when absent. */
  finalDecoder?: DecoderKind;
  /** The preset the models came from (its steps/guidance/size are the run's defaults). */
  preset?: ModelPreset;
  /**
   * The image generator personalize runs (imageGeneratorOf): absent, the ONNX generator over `sd` and `decoder`; a
   * model set whose images come from elsewhere (a remote server) sets its own.
   */
  generator?: ImageGenerator;
  close(): Promise<void>;
}

/** A model set whose images may come from a remote generator: then it has no local Stable Diffusion model. */
export type PersonalizeModels = Omit<ModelSet, 'sd'> & { sd?: StableDiffusionModel };

/** The image generator of a model set: its own, else the ONNX one over its Stable Diffusion model and tiny decoder. */
export function imageGeneratorOf(models: Pick<PersonalizeModels, 'generator' | 'sd' | 'decoder' | 'finalDecoder'>): ImageGenerator {
  if (models.generator) return models.generator;
  if (!models.sd) throw new PmgError('internal', 'a model set without a Stable Diffusion model needs its own image generator');
  return new OnnxImageGenerator({
    sd: models.sd,
    ...(models.decoder ? { tiny: models.decoder } : {}),
    ...(models.finalDecoder ? { finalDecoder: models.finalDecoder } : {}),
  });
}

/** The ids of the loaded models, as result.json records them (`decoder` only when a tiny decoder is loaded). */
export interface ModelIds {
  llm: string;
  clip: string;
  sd: string;
  decoder?: string;
  /** The remote image generator's id, when the images come from one (then `sd` is that id too). */
  generator?: string;
}

export interface LoadModelSetOptions {
  store: ModelStore;
  /** The settings (the LLM's API key and timeout); default: those of `env`, else the process's. */
  settings?: Settings;
  /** Environment the settings are read from when none are given. */
  env?: Environment;
  offline: boolean;
  warn?: (message: string) => void;
}

/** The specs a ModelSetSpec stands for, without loading anything (`decoder`: the tiny decoder to load; undefined: none). */
export interface ResolvedModelSpecs extends Pick<ModelPreset, 'llm' | 'llmModel' | 'llmDtype' | 'clip' | 'sd' | 'decoder'> {
  finalDecoder: DecoderKind;
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
export function resolveModelSpecs(spec: GeneratorModelSetSpec, cwd: string): ResolvedModelSpecs {
  const models = spec.models?.trim();
  if (spec.generator !== undefined && spec.sd !== undefined)
    throw new PmgError(
      'invalid-argument',
      'generator and sd are both given; give a remote generator (generator) or the Stable Diffusion model (sd), not both',
      { details: { field: 'generator' } },
    );
  if (spec.generator !== undefined && !spec.generator.trim())
    throw new PmgError('invalid-argument', 'generator is empty; give a1111:http://host:port or comfyui:http://host:port', { details: { field: 'generator' } });
  const given = { ...spec, ...(spec.generator !== undefined ? { sd: spec.generator.trim() } : {}) };
  if (spec.models !== undefined && !models)
    throw new PmgError('invalid-argument', `models is empty; give a folder (llm/, clip/, sd/) or a preset: ${presetNames.join(', ')}`, {
      details: { field: 'models' },
    });
  let base: {
    llm?: string;
    llmModel?: string;
    llmDtype?: TransformersDtype;
    clip?: string;
    sd?: string;
    decoder?: string;
    finalDecoder?: DecoderKind;
    preset?: ModelPreset;
  };
  if (models === undefined) {
    const preset = presets[DEFAULT_PRESET];
    base = spec.llm && spec.clip && given.sd ? {} : { ...preset, preset };
  } else if (isPresetName(models)) {
    const preset = presets[models];
    base = { ...preset, preset };
  } else {
    const dir = resolvePath(cwd, models);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new PmgError(
        'invalid-argument',
        `models '${models}' is neither a folder nor a preset; give a folder laid out like 'pmg models fixtures DIR' writes it (llm/, clip/, sd/) or one of: ${presetNames.join(', ')}`,
        { details: { field: 'models' } },
      );
    }
    const part = (name: string, given: string | undefined): string | undefined => {
      if (given) return undefined;
      const path = join(dir, name);
      if (!existsSync(path))
        throw new PmgError(
          'model-not-found',
          `models folder ${dir} has no ${name}/ folder; it needs llm/, clip/ and sd/ (write one with 'pmg models fixtures DIR'), or give the ${name} model separately`,
          { details: { field: 'models' } },
        );
      return path;
    };
    const llmDir = part('llm', spec.llm);
    const taesd = join(dir, FOLDER_DECODER);
    base = { llm: llmDir && `onnx:${llmDir}`, clip: part('clip', spec.clip), sd: part('sd', given.sd), ...(existsSync(taesd) ? { decoder: taesd } : {}) };
  }
  const llm = spec.llm ?? base.llm;
  const clip = spec.clip ?? base.clip;
  const sd = given.sd ?? base.sd;
  if (!llm || !clip || !sd)
    throw new PmgError('invalid-argument', 'incomplete model set; give models (a folder or preset) or all of the llm, clip and sd models');
  const { decoder, finalDecoder } = resolveDecoderChoice(spec, base);
  return {
    llm,
    llmModel: spec.llmModel ?? (spec.llm ? undefined : base.llmModel),
    llmDtype: spec.llm ? undefined : base.llmDtype,
    clip,
    sd,
    ...(decoder ? { decoder } : {}),
    finalDecoder,
    preset: base.preset,
  };
}

/** The folder of a `--models` folder that holds its tiny decoder (as `pmg models fixtures` writes it). */
export const FOLDER_DECODER = 'taesd';

/**
 * The tiny decoder to load and the default final decoder (rules in the header): `spec` holds what the user gave
 * (`decoder`, possibly 'none', and `finalDecoder`), `base` what the preset or the models folder brings.
 */
export function resolveDecoderChoice(
  spec: Pick<ModelSetSpec, 'decoder' | 'finalDecoder'>,
  base: { decoder?: string; finalDecoder?: DecoderKind } = {},
): { decoder?: string; finalDecoder: DecoderKind } {
  const given = spec.decoder?.trim();
  if (spec.decoder !== undefined && !given)
    throw new PmgError('invalid-argument', `decoder is empty; give a tiny autoencoder's folder or hub id (e.g. julienkay/taesd), or ${NO_DECODER}`, {
      details: { field: 'decoder' },
    });
  if (spec.finalDecoder !== undefined && !decoderKinds.includes(spec.finalDecoder)) {
    throw new PmgError('invalid-argument', `finalDecoder must be ${decoderKinds.join(' or ')}, got '${String(spec.finalDecoder)}'`, {
      details: { field: 'finalDecoder' },
    });
  }
  const decoder = given === NO_DECODER ? undefined : (given ?? base.decoder);
  const finalDecoder = spec.finalDecoder ?? (given && given !== NO_DECODER ? 'tiny' : given === NO_DECODER ? 'vae' : (base.finalDecoder ?? 'vae'));
  if (finalDecoder === 'tiny' && !decoder) {
    throw new PmgError(
      'invalid-argument',
      `finalDecoder tiny needs a tiny decoder; give decoder (a folder or hub id, e.g. julienkay/taesd)${given === NO_DECODER ? ` instead of ${NO_DECODER}` : ''}`,
      {
        details: { field: 'finalDecoder' },
      },
    );
  }
  return { ...(decoder ? { decoder } : {}), finalDecoder };
}

/**
 * The models a spec names, the images from a remote generator when the spec names one (`generator`: then the set
 * has no local Stable Diffusion model), else loadModelSet's.
 */
export async function loadPersonalizeModels(spec: GeneratorModelSetSpec, options: LoadModelSetOptions): Promise<PersonalizeModels> {
  const specs = resolveModelSpecs(spec, options.store.options.cwd);
  if (providerFor('image', specs.sd).entry.scheme === 'onnx') {
    const { generator: _generator, ...local } = spec;
    return loadModelSet({ ...local, ...(spec.generator ? { sd: spec.generator } : {}) }, options);
  }
  const device = checkDevice(spec.device);
  // The server is reached first: one that is down fails in seconds, before the LLM loads.
  return loadWithRemoteGenerator(spec, specs, device, options);
}

function checkDevice(device: string | undefined): 'cpu' | 'cuda' {
  const chosen = device ?? 'cpu';
  if (chosen !== 'cpu' && chosen !== 'cuda') throw new PmgError('invalid-argument', `device must be cpu or cuda, got '${String(chosen)}'`);
  return chosen;
}

/** The local models a spec names (ONNX Stable Diffusion; a remote generator is loadPersonalizeModels's). */
export async function loadModelSet(spec: ModelSetSpec, options: LoadModelSetOptions): Promise<ModelSet> {
  const { store } = options;
  const specs = resolveModelSpecs(spec, store.options.cwd);
  const device = checkDevice(spec.device);
  // The image generator's scheme, through the provider registry, before anything loads.
  const image = providerFor('image', specs.sd);
  if (image.entry.scheme !== 'onnx')
    throw new PmgError('invalid-argument', `sd: '${specs.sd}' is a remote image generator; give it as generator (pmg generate --generator), not as sd`, {
      details: { field: 'sd' },
    });
  const llm = await loadLlm(specs, device, options);
  try {
    const { clip, id: clipId } = await loadClipModel(specs.clip, device, store);
    const generator = await loadOnnxImageGenerator(image.target, {
      resolve: pullingResolver(store),
      device,
      threads: spec.threads,
      warn: options.warn,
      optimizedCacheDir: store.options.cacheDir,
      ...(specs.decoder ? { tinyDecoder: specs.decoder } : {}),
    });
    const { sd, tiny: decoder } = generator;
    return {
      llm,
      clip,
      sd,
      ...(decoder ? { decoder } : {}),
      ids: { llm: llm.id, clip: clipId, sd: sd.id, ...(decoder ? { decoder: decoder.id } : {}) },
      finalDecoder: specs.finalDecoder,
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

async function loadWithRemoteGenerator(
  spec: GeneratorModelSetSpec,
  specs: ResolvedModelSpecs,
  device: 'cpu' | 'cuda',
  options: LoadModelSetOptions,
): Promise<PersonalizeModels> {
  const generator = await createProvider('image', specs.sd, { ...(options.warn ? { warn: options.warn } : {}) });
  let llm: LanguageModel | undefined;
  try {
    llm = await loadLlm(specs, device, options);
    const { clip, id: clipId } = await loadClipModel(specs.clip, device, options.store);
    const loaded = llm;
    return {
      llm: loaded,
      clip,
      generator,
      ids: { llm: loaded.id, clip: clipId, sd: generator.id, generator: generator.id },
      // The server decodes with its own VAE; an explicit other choice is refused by the generator's capabilities.
      finalDecoder: spec.finalDecoder ?? 'vae',
      ...(specs.preset ? { preset: specs.preset } : {}),
      close: async () => {
        await generator.close();
        await loaded.close?.();
      },
    };
  } catch (error) {
    await llm?.close?.();
    await generator.close();
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
    const llm = new OnnxCausalLanguageModel({
      dir: pulled.dir,
      id: `onnx:${pulled.id}@${pulled.commit ?? pulled.revision ?? 'main'}${dtype === 'fp32' ? '' : `#${dtype}`}`,
      device,
      dtype,
    });
    await llm.load();
    return llm;
  }
  return createLanguageModel(specs.llm, {
    llmModel: specs.llmModel,
    apiKey: settingsOf(options).llm.apiKey,
    store: options.store,
    settings: settingsOf(options),
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

/**
 * Local folders go to the layout check as they are; hub ids pull whole model folders (a base tokenizer: only its
 * files; a tiny decoder: its vae_decoder/ folder or its top-level model.onnx and config.json).
 */
export function pullingResolver(store: ModelStore): ModelResolver {
  return async (spec, files, optionalFiles, purpose) => {
    const parsed = store.parse(spec);
    if (parsed.kind === 'local') {
      const resolved = await store.resolve(spec);
      return { dir: resolved.dir, id: resolved.dir };
    }
    if (purpose === 'decoder') {
      const pulled = await store.pull(spec, { include: TINY_DECODER_INCLUDE });
      return { dir: pulled.dir, id: `${pulled.id}@${pulled.commit ?? pulled.revision ?? 'main'}` };
    }
    if (purpose === 'tokenizer') {
      const resolved = await store.resolve(spec, { files: [...files], optionalFiles: [...optionalFiles] });
      return { dir: resolved.dir, id: `${resolved.id}@${resolved.commit ?? resolved.revision ?? 'main'}` };
    }
    const pulled = await store.pull(spec, { include: SD_INCLUDE });
    return { dir: pulled.dir, id: `${pulled.id}@${pulled.commit ?? pulled.revision ?? 'main'}`, cached: true };
  };
}
