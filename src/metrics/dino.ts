/**
 * DINO score: cosine similarity of DINO / DINOv2 image embeddings (the CLS token), as used by
 * DreamBooth-style subject-fidelity evaluations. Higher = closer; 1 = same embedding.
 *
 * Model folder (Hugging Face ONNX export layout, e.g. `facebook/dinov2-small` or `facebook/dino-vits16`),
 * resolved through the model store: `onnx/model.onnx` (or `model.onnx`) with input `pixel_values`
 * [N, 3, H, W], `config.json` and `preprocessor_config.json`. Which output is the embedding depends on the
 * family, read from config.json's `model_type`:
 * - "dinov2": `pooler_output` [N, D] where the export has it (Dinov2Model's pooler is the layer-normed CLS
 *   token), else token 0 of `last_hidden_state`;
 * - anything else ("vit" for DINO v1, which is a ViTModel): token 0 of `last_hidden_state`, the CLS token
 *   DINO evaluations use. ViTModel's `pooler_output` is a trained tanh(dense(CLS)) layer that DINO never
 *   trained, so it is never read.
 * Images are preprocessed as the model's transformers image processor does (core/image-processor.ts:
 * Pillow resize with the config's filter — bicubic for DINOv2, bilinear for DINO v1 —, crop when the
 * processor has one, rescale, normalize); transparent pixels were composited over white when read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RgbImage } from '../core/image-io.js';
import { imageProcessorSteps, preprocessBatch, readImageProcessorConfig, type ImageProcessorSteps } from '../core/image-processor.js';
import { parseJson } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';
import { OnnxSession, defaultSessionPool, ort, type SessionOptions, type SessionPool } from '../runtime/onnx-session.js';
import { chunks, cosine } from './image-batch.js';

export const DINO_FILES = ['config.json', 'preprocessor_config.json'];
export const DINO_MODEL_CANDIDATES = ['onnx/model.onnx', 'model.onnx'];

export interface EmbeddingModelOptions {
  pool?: SessionPool;
  session?: SessionOptions;
  /** Images per onnxruntime call (default 16). */
  batchSize?: number;
}

export type DinoOutput = 'pooler_output' | 'last_hidden_state';

/** The output a DINO export's embedding is read from (see the file comment). */
export function dinoEmbeddingOutput(modelType: unknown, outputNames: readonly string[]): DinoOutput {
  return typeof modelType === 'string' && modelType.startsWith('dinov2') && outputNames.includes('pooler_output') ? 'pooler_output' : 'last_hidden_state';
}

export class DinoModel {
  private constructor(
    readonly dir: string,
    private readonly session: OnnxSession,
    private readonly steps: ImageProcessorSteps,
    readonly output: DinoOutput,
    private readonly batchSize: number,
  ) {}

  static async load(dir: string, options: EmbeddingModelOptions = {}): Promise<DinoModel> {
    const file = DINO_MODEL_CANDIDATES.map((f) => join(dir, f)).find((f) => existsSync(f));
    if (!file) throw new PmgError('model-file-missing', `DINO model ${dir} has neither ${DINO_MODEL_CANDIDATES.join(' nor ')}`, { details: { dir } });
    const configPath = join(dir, 'config.json');
    if (!existsSync(configPath)) {
      throw new PmgError(
        'model-file-missing',
        `DINO model ${dir} lacks config.json (its model_type decides whether the CLS token or pooler_output is the embedding)`,
        { details: { dir } },
      );
    }
    const modelType = (parseJson(readFileSync(configPath, 'utf8'), `DINO config ${configPath}`) as { model_type?: unknown } | null)?.model_type;
    const processorPath = join(dir, 'preprocessor_config.json');
    const steps = imageProcessorSteps(readImageProcessorConfig(processorPath), { source: processorPath });
    const session = await (options.pool ?? defaultSessionPool).get(file, options.session);
    const output = dinoEmbeddingOutput(modelType, session.outputNames);
    session.expect('DINO model', ['pixel_values'], [output]);
    return new DinoModel(dir, session, steps, output, options.batchSize ?? 16);
  }

  /** One embedding per image, one onnxruntime call per batch. */
  async embed(images: readonly RgbImage[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const batch of chunks(images, this.batchSize)) {
      const pixels = preprocessBatch(batch, this.steps);
      const result = await this.session.run({ pixel_values: new ort.Tensor('float32', pixels.data, pixels.dims) }, [this.output]);
      const t = result[this.output]!;
      const data = t.data as Float32Array;
      const dims = t.dims as number[];
      const dim = dims[dims.length - 1]!;
      const stride = this.output === 'pooler_output' ? dim : dims[1]! * dim;
      for (let n = 0; n < batch.length; n++) out.push(data.slice(n * stride, n * stride + dim));
    }
    return out;
  }

  /** DINO score of `generated` against each reference. */
  async compare(generated: RgbImage, references: readonly RgbImage[]): Promise<number[]> {
    const [g, ...refs] = await this.embed([generated, ...references]);
    return refs.map((r) => cosine(g!, r));
  }
}
