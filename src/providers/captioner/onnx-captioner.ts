/**
 * `onnx:<folder or repo id>` image captioner through transformers.js: VisionEncoderDecoder models in the
 * vit-gpt2 layout (e.g. Xenova/vit-gpt2-image-captioning: onnx/encoder_model.onnx,
 * onnx/decoder_model_merged.onnx, preprocessor_config.json, tokenizer files). Greedy decoding.
 * Florence-2 class models are not supported yet (they need a task prompt and a different processor).
 */
import { PmgError } from '../../errors/pmg-error.js';
import { ModelStore, modelStoreOptions } from '../../runtime/model-store.js';
import { settingsOf, type Environment, type Settings } from '../../settings/settings.js';
import { loadImageCaptioner, type ImageCaptionModel, type TransformersDevice } from '../../runtime/transformers-models.js';
import type { Captioner } from '../../spec/captioner.js';
import { isImageUrl, withFetchedImage, type FetchImageOptions } from './fetch-image.js';
import { splitProviderSpec } from '../provider-spec.js';

/** Files a captioner folder needs (fp32). */
export const captionerFiles = {
  files: ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx'],
  optionalFiles: ['generation_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt'],
};

/** Default cap on caption length in tokens. */
export const defaultCaptionTokens = 30;

export interface CreateCaptionerOptions {
  store?: ModelStore;
  /** Settings for the default store; default: those of `env`, else the process's. */
  settings?: Settings;
  env?: Environment;
  offline?: boolean;
  device?: TransformersDevice;
  /** Default maximum caption length in new tokens (default 30). */
  maxNewTokens?: number;
}

export class OnnxCaptioner implements Captioner {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly id: string,
    private readonly model: ImageCaptionModel,
    private readonly maxNewTokens: number,
    private readonly fetchOptions: FetchImageOptions = {},
  ) {}

  caption(imagePath: string, options: { maxNewTokens?: number } = {}): Promise<string> {
    const task = async (): Promise<string> => {
      const maxNewTokens = options.maxNewTokens ?? this.maxNewTokens;
      const text = isImageUrl(imagePath)
        ? await withFetchedImage(imagePath, this.fetchOptions, (path) => this.model.caption(path, { maxNewTokens }))
        : await this.model.caption(imagePath, { maxNewTokens });
      if (!text) {
        throw new PmgError(
          'no-output-generated',
          `the captioner ${this.id} wrote an empty caption for ${imagePath}; give the item a title or description instead`,
          {
            details: { image: imagePath, raw: text },
          },
        );
      }
      return text;
    };
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** `createCaptioner('onnx:owner/name' | 'onnx:./folder' | './folder')`. */
export async function createCaptioner(spec: string, options: CreateCaptionerOptions = {}): Promise<Captioner> {
  const { scheme, target } = splitProviderSpec(spec);
  if (scheme !== undefined && scheme !== 'onnx') {
    throw new PmgError(
      'invalid-argument',
      `unknown captioner provider '${spec.trim().slice(0, scheme.length)}:' in '${spec}'; use onnx:<folder or repo id> (a vit-gpt2-layout image-to-text model)`,
      { details: { spec } },
    );
  }
  if (!target) throw new PmgError('invalid-argument', `the captioner spec '${spec}' names no model; use onnx:<folder or repo id>`);
  const maxNewTokens = options.maxNewTokens ?? defaultCaptionTokens;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1)
    throw new PmgError('invalid-argument', `captioner maxNewTokens must be a positive whole number, got ${maxNewTokens}`);
  const store = options.store ?? new ModelStore(modelStoreOptions(settingsOf(options), options.offline === undefined ? {} : { offline: options.offline }));
  const resolved = await store.resolve(target, captionerFiles);
  const model = await loadImageCaptioner(resolved.dir, { device: options.device });
  const id = resolved.local ? `onnx:${resolved.dir}` : `onnx:${resolved.id}@${resolved.commit ?? resolved.revision ?? 'main'}`;
  return new OnnxCaptioner(id, model, maxNewTokens, { offline: options.offline ?? false });
}
