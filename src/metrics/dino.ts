/**
 * DINO score: cosine similarity of DINO / DINOv2 image embeddings (the CLS token), as used by
 * DreamBooth-style subject-fidelity evaluations. Higher = closer; 1 = same embedding.
 *
 * Model folder (Hugging Face ONNX export layout, e.g. a `facebook/dinov2-small` export), resolved
 * through the model store: `onnx/model.onnx` (or `model.onnx`) with input `pixel_values`
 * [N, 3, H, W] and output `pooler_output` [N, D] (used when present: the layer-normed CLS token) or
 * `last_hidden_state` [N, 1 + patches, D] (its first token is taken); `preprocessor_config.json`
 * gives resize / crop / mean / std (metrics/vision-preprocess.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RgbImage } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';
import { OnnxSession, defaultSessionPool, ort, type SessionOptions, type SessionPool } from '../runtime/onnx-session.js';
import { chunks, cosine, toNchw } from './image-batch.js';
import { preprocessImage, readPreprocessorConfig, type VisionPreprocess } from './vision-preprocess.js';

export const DINO_FILES = ['preprocessor_config.json'];
export const DINO_MODEL_CANDIDATES = ['onnx/model.onnx', 'model.onnx'];

export interface EmbeddingModelOptions {
  pool?: SessionPool;
  session?: SessionOptions;
  /** Images per onnxruntime call (default 16). */
  batchSize?: number;
}

export class DinoModel {
  private constructor(
    readonly dir: string,
    private readonly session: OnnxSession,
    private readonly preprocess: VisionPreprocess,
    private readonly output: 'pooler_output' | 'last_hidden_state',
    private readonly batchSize: number,
  ) {}

  static async load(dir: string, options: EmbeddingModelOptions = {}): Promise<DinoModel> {
    const file = DINO_MODEL_CANDIDATES.map((f) => join(dir, f)).find((f) => existsSync(f));
    if (!file) throw new PmgError('model-file-missing', `DINO model ${dir} has neither ${DINO_MODEL_CANDIDATES.join(' nor ')}`, { details: { dir } });
    const preprocess = readPreprocessorConfig(join(dir, 'preprocessor_config.json'));
    const session = await (options.pool ?? defaultSessionPool).get(file, options.session);
    session.expect('DINO model', ['pixel_values']);
    const output = session.outputNames.includes('pooler_output') ? 'pooler_output' : 'last_hidden_state';
    session.expect('DINO model', ['pixel_values'], [output]);
    return new DinoModel(dir, session, preprocess, output, options.batchSize ?? 16);
  }

  /** One embedding per image, one onnxruntime call per batch. */
  async embed(images: readonly RgbImage[]): Promise<Float32Array[]> {
    const prepared = await Promise.all(images.map((image) => preprocessImage(image, this.preprocess)));
    const out: Float32Array[] = [];
    for (const batch of chunks(prepared, this.batchSize)) {
      const tensor = toNchw(batch, this.preprocess.mean, this.preprocess.std);
      const result = await this.session.run({ pixel_values: new ort.Tensor('float32', tensor.data, tensor.dims) }, [this.output]);
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
