/**
 * The provider registry: for each kind of model pmg runs — the LLM (keywords), the image generator, the captioner —
 * the spec schemes it knows (`onnx:`, `openai:` …), what each takes, and the factory that makes one. A spec without
 * a scheme is the kind's default (`onnx:`: a folder or hub repo id). Another generator (a remote server's) plugs in
 * as one more `image` entry whose factory returns an ImageGenerator (spec/image-generator.ts); personalize/ does not
 * change. The `a1111:` and `comfyui:` entries are such remote generators (docs/remote-generators.md).
 *
 * The LLM entries are llm/registry.ts's createLanguageModel (which parses its own scheme's details), the captioner's
 * captioner/onnx-captioner.ts createCaptioner, the image generator's image/onnx-image-generator.ts.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { Captioner } from '../spec/captioner.js';
import type { ImageGenerator } from '../spec/image-generator.js';
import type { LanguageModel } from '../spec/language-model.js';
import { createCaptioner, type CreateCaptionerOptions } from './captioner/onnx-captioner.js';
import { createA1111Generator } from './image/a1111-generator.js';
import { createComfyuiGenerator } from './image/comfyui-generator.js';
import { loadOnnxImageGenerator, type LoadOnnxImageGeneratorOptions } from './image/onnx-image-generator.js';
import type { RemoteGeneratorOptions } from './image/remote-generator.js';
import { createLanguageModel, type CreateLanguageModelOptions } from './llm/registry.js';
import { splitProviderSpec } from './provider-spec.js';

/** What each kind's factory takes and makes: `create(spec, options)`, the spec as given (scheme included). */
export interface ProviderKinds {
  llm: { options: CreateLanguageModelOptions; model: LanguageModel };
  image: { options: LoadOnnxImageGeneratorOptions & RemoteGeneratorOptions; model: ImageGenerator };
  captioner: { options: CreateCaptionerOptions; model: Captioner };
}

export type ProviderKind = keyof ProviderKinds;

export interface ProviderEntry<K extends ProviderKind> {
  scheme: string;
  /** How a spec of this scheme is written, for messages and docs. */
  usage: string;
  create: (spec: string, options: ProviderKinds[K]['options']) => Promise<ProviderKinds[K]['model']>;
}

/** Every kind's schemes; the first is the default of a spec without one. */
export const providerRegistry: { readonly [K in ProviderKind]: readonly ProviderEntry<K>[] } = {
  llm: [
    { scheme: 'onnx', usage: 'onnx:<folder or repo id> (a local causal LM, the default)', create: createLanguageModel },
    { scheme: 'openai', usage: 'openai:<base URL>[#<model>] (an OpenAI-compatible chat server)', create: createLanguageModel },
  ],
  image: [
    {
      scheme: 'onnx',
      usage: 'onnx:<folder or repo id> (Stable Diffusion in the diffusers ONNX layout, the default)',
      create: (spec, options) => loadOnnxImageGenerator(splitProviderSpec(spec).target, options),
    },
    {
      scheme: 'a1111',
      usage: 'a1111:http://host:port (an AUTOMATIC1111 webui server started with --api)',
      create: (spec, options) => createA1111Generator(spec, options),
    },
    {
      scheme: 'comfyui',
      usage: 'comfyui:http://host:port[#ckpt=<checkpoint>] (a ComfyUI server)',
      create: (spec, options) => createComfyuiGenerator(spec, options),
    },
  ],
  captioner: [{ scheme: 'onnx', usage: 'onnx:<folder or repo id> (a vit-gpt2-layout image-to-text model, the default)', create: createCaptioner }],
};

const kindNames: Record<ProviderKind, string> = { llm: 'LLM', image: 'image generator', captioner: 'captioner' };

/** The entry a spec names (its scheme, or the kind's default) and the spec's target; an unknown scheme is one line listing the known ones. */
export function providerFor<K extends ProviderKind>(kind: K, spec: string): { entry: ProviderEntry<K>; target: string } {
  const entries: readonly ProviderEntry<K>[] = providerRegistry[kind];
  const { scheme, target } = splitProviderSpec(spec);
  const entry = scheme === undefined ? entries[0] : entries.find((e) => e.scheme === scheme);
  if (!entry) {
    throw new PmgError(
      'invalid-argument',
      `${kind === 'image' ? 'sd' : kind}: unknown ${kindNames[kind]} provider '${scheme}:' in '${spec}'; use ${entries.map((e) => e.usage).join(' or ')}`,
      { details: { field: kind === 'image' ? 'sd' : kind, spec } },
    );
  }
  return { entry, target };
}

/** Make the model a spec names, through its scheme's factory. */
export async function createProvider<K extends ProviderKind>(kind: K, spec: string, options: ProviderKinds[K]['options']): Promise<ProviderKinds[K]['model']> {
  return providerFor(kind, spec).entry.create(spec, options);
}
