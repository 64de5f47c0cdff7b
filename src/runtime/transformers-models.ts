/**
 * CLIP (both towers) and image captioners in the transformers.js layout, loaded from LOCAL folders through
 * transformers.js (transformers-loading.ts). CLIP's inputs are made by pmg: texts as CLIP's tokenizer truncates
 * them with the end token kept, images as CLIPImageProcessor does (runtime/clip-inputs.ts).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  AutoImageProcessor,
  AutoModelForVision2Seq,
  CLIPTextModelWithProjection,
  CLIPVisionModelWithProjection,
  RawImage,
  Tensor,
} from '@huggingface/transformers';
import { imageProcessorSteps, readImageProcessorConfig } from '../core/image-processor.js';
import { PmgError } from '../errors/pmg-error.js';
import { clipPixelBatch, clipTokenBatch, type ClipImageInput } from './clip-inputs.js';
import { cached, externalData, loadTokenizer, onnxFile, tensorRows, TOKENIZER_FILES, withLocalEnv } from './transformers-loading.js';
import { requireModelFiles, type TransformersLoadOptions } from './transformers-options.js';

export type { ClipImageInput };
export type { TransformersDevice, TransformersDtype, TransformersLoadOptions } from './transformers-options.js';
export { requireModelFiles } from './transformers-options.js';

/** An image for the captioner: a file path. */
export type ImageInput = string;

export interface ClipModel {
  dir: string;
  projectionDim: number;
  /** Window of the text tower (77): longer texts keep their end token last (runtime/clip-inputs.ts). */
  maxTextLength: number;
  /** Unnormalised text embeddings, one per text (one ONNX call per batch). */
  embedTexts(texts: readonly string[]): Promise<Float32Array[]>;
  /**
   * Unnormalised image embeddings, one per image (8-bit RGB, RawImage or a file path; one ONNX call per
   * batch), preprocessed by pmg as CLIPImageProcessor does with the folder's preprocessor_config.json.
   */
  embedImages(images: readonly ClipImageInput[]): Promise<Float32Array[]>;
}

export interface ClipLoadOptions extends TransformersLoadOptions {
  /** Largest number of inputs per ONNX call (default 32). */
  batchSize?: number;
}

async function inBatches<T>(items: readonly T[], size: number, run: (batch: T[]) => Promise<Float32Array[]>): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let start = 0; start < items.length; start += size) out.push(...(await run(items.slice(start, start + size))));
  return out;
}

export async function loadClip(dir: string, options: ClipLoadOptions = {}): Promise<ClipModel> {
  const folder = resolve(dir);
  const device = options.device ?? 'cpu';
  const dtype = options.dtype ?? 'fp32';
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new PmgError('invalid-argument', `batchSize must be a positive integer, got ${batchSize}`);
  return cached(`clip:${folder}:${device}:${dtype}:${batchSize}`, async () => {
    const textFile = onnxFile('text_model', dtype);
    const visionFile = onnxFile('vision_model', dtype);
    requireModelFiles(folder, ['config.json', 'preprocessor_config.json', ...TOKENIZER_FILES, textFile, visionFile], 'CLIP');
    const tokenizer = await loadTokenizer(folder);
    const common = { local_files_only: true, device, dtype } as const;
    const textModel = await withLocalEnv(folder, (id) =>
      CLIPTextModelWithProjection.from_pretrained(id, { ...common, use_external_data_format: externalData(folder, textFile) }),
    );
    const visionModel = await withLocalEnv(folder, (id) =>
      CLIPVisionModelWithProjection.from_pretrained(id, { ...common, use_external_data_format: externalData(folder, visionFile) }),
    );
    const processorPath = join(folder, 'preprocessor_config.json');
    const steps = imageProcessorSteps(readImageProcessorConfig(processorPath), { intSize: 'shortest-edge', source: processorPath });
    const config = textModel.config as unknown as { projection_dim?: number; max_position_embeddings?: number };
    const projectionDim = Number(config.projection_dim);
    if (!Number.isInteger(projectionDim) || projectionDim < 1) {
      throw new PmgError('model-layout', `CLIP folder ${folder}: config.json has no positive integer projection_dim`, { details: { dir: folder } });
    }
    const tokenizerMax = Number((tokenizer as unknown as { model_max_length?: number }).model_max_length);
    const maxTextLength =
      Number.isInteger(tokenizerMax) && tokenizerMax > 1 && tokenizerMax < 100_000 ? tokenizerMax : Number(config.max_position_embeddings) || 77;
    const padId = Number((tokenizer as unknown as { pad_token_id?: number }).pad_token_id);
    const embedTexts = (texts: readonly string[]) =>
      inBatches(texts, batchSize, async (batch) => {
        const encoded = tokenizer(batch, { padding: false, truncation: false, return_tensor: false }) as unknown as { input_ids: number[][] };
        const rows = encoded.input_ids;
        const { ids, mask, dims } = clipTokenBatch(rows, maxTextLength, Number.isInteger(padId) ? padId : rows[0]![rows[0]!.length - 1]!);
        const outputs = (await textModel({ input_ids: new Tensor('int64', ids, dims), attention_mask: new Tensor('int64', mask, dims) })) as {
          text_embeds: Tensor;
        };
        return tensorRows(outputs.text_embeds);
      });
    const embedImages = (images: readonly ClipImageInput[]) =>
      inBatches(images, batchSize, async (batch) => {
        const { data, dims } = await clipPixelBatch(batch, steps);
        const outputs = (await visionModel({ pixel_values: new Tensor('float32', data, dims) })) as { image_embeds: Tensor };
        return tensorRows(outputs.image_embeds);
      });
    return { dir: folder, projectionDim, maxTextLength, embedTexts, embedImages };
  });
}

async function readImage(path: string): Promise<RawImage> {
  if (!existsSync(path)) throw new PmgError('file-not-found', `image ${path} does not exist`, { details: { path } });
  try {
    return await RawImage.read(path);
  } catch (error) {
    throw new PmgError('invalid-input', `cannot read image ${path}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      details: { path },
    });
  }
}

export interface ImageCaptionModel {
  dir: string;
  /** Greedy caption of one image (RawImage or a file path), special tokens removed, trimmed. */
  caption(image: ImageInput, options?: { maxNewTokens?: number }): Promise<string>;
}

/**
 * An image-to-text model of the VisionEncoderDecoder class (vit-gpt2 layout: onnx/encoder_model.onnx,
 * onnx/decoder_model_merged.onnx, preprocessor_config.json, tokenizer files), loaded once per process.
 */
export function loadImageCaptioner(dir: string, options: TransformersLoadOptions = {}): Promise<ImageCaptionModel> {
  const folder = resolve(dir);
  const device = options.device ?? 'cpu';
  const dtype = options.dtype ?? 'fp32';
  return cached(`captioner:${folder}:${device}:${dtype}`, async () => {
    const encoderFile = onnxFile('encoder_model', dtype);
    const decoderFile = onnxFile('decoder_model_merged', dtype);
    requireModelFiles(folder, ['config.json', 'preprocessor_config.json', ...TOKENIZER_FILES, encoderFile, decoderFile], 'image captioner');
    const tokenizer = await loadTokenizer(folder);
    const model = await withLocalEnv(folder, (id) =>
      AutoModelForVision2Seq.from_pretrained(id, {
        local_files_only: true,
        device,
        dtype,
        use_external_data_format: externalData(folder, encoderFile) || externalData(folder, decoderFile),
      }),
    );
    const processor = await withLocalEnv(folder, (id) => AutoImageProcessor.from_pretrained(id, { local_files_only: true }));
    const caption = async (image: ImageInput, captionOptions: { maxNewTokens?: number } = {}): Promise<string> => {
      const raw = typeof image === 'string' ? await readImage(image) : image;
      const { pixel_values } = (await processor(raw)) as { pixel_values: Tensor };
      const generateOptions: Record<string, unknown> = { inputs: pixel_values, do_sample: false, num_beams: 1 };
      if (captionOptions.maxNewTokens !== undefined) generateOptions.max_new_tokens = captionOptions.maxNewTokens;
      const output = (await model.generate(generateOptions as never)) as Tensor;
      return tokenizer.batch_decode(output, { skip_special_tokens: true })[0]!.trim();
    };
    return { dir: folder, caption };
  });
}
