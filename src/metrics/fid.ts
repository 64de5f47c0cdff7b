/**
 * FID (Heusel et al. 2017): Fréchet distance between Gaussians fitted to Inception pool features of
 * the generated set and of the reference set (metrics/frechet-distance.ts, float64).
 *
 * Model folder (resolved by the model store): `model.onnx` with input `image` float32 [N, 3, S, S],
 * pixels scaled to [-1, 1], and output `pool` [N, D] or [N, D, 1, 1] (Inception-v3 pool3: D = 2048).
 * S comes from the input's static shape, else `config.json` {"image_size": S}, else 299. Images reach
 * the network as in pytorch-fid (metrics/inception-input.ts): [0, 1] floats resized to S x S by bilinear
 * interpolation (align_corners=false, no antialiasing), then scaled to [-1, 1]; an exported pytorch-fid
 * network without its resize layer thus gets the input it would have made itself. Transparent pixels
 * were composited over white when the images were read (core/image-io.ts; pytorch-fid's PIL
 * convert('RGB') drops alpha instead). FID needs at least 2 images per set; with few images it is
 * strongly biased upwards (report the set sizes with the value).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RgbImage } from '../core/image-io.js';
import { parseJson } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';
import { OnnxSession, defaultSessionPool, ort } from '../runtime/onnx-session.js';
import type { EmbeddingModelOptions } from './dino.js';
import { frechetDistanceOfFeatures } from './frechet-distance.js';
import { chunks } from './image-batch.js';
import { inceptionInput } from './inception-input.js';

export const FID_FILES = ['model.onnx'];

export class InceptionFeatures {
  private constructor(
    readonly dir: string,
    private readonly session: OnnxSession,
    readonly imageSize: number,
    private readonly batchSize: number,
  ) {}

  static async load(dir: string, options: EmbeddingModelOptions = {}): Promise<InceptionFeatures> {
    const session = await (options.pool ?? defaultSessionPool).get(join(dir, 'model.onnx'), options.session);
    session.expect('FID feature model', ['image'], ['pool']);
    const shape = session.inputInfo('image')?.shape;
    let size = typeof shape?.[2] === 'number' && shape[2] > 0 ? shape[2] : undefined;
    const configPath = join(dir, 'config.json');
    if (size === undefined && existsSync(configPath)) {
      const value = (parseJson(readFileSync(configPath, 'utf8'), configPath) as { image_size?: unknown } | null)?.image_size;
      if (typeof value === 'number') size = value;
    }
    return new InceptionFeatures(dir, session, size ?? 299, options.batchSize ?? 16);
  }

  /** Pool features (float64 rows), one onnxruntime call per batch. */
  async features(images: readonly RgbImage[]): Promise<Float64Array[]> {
    const out: Float64Array[] = [];
    for (const batch of chunks(images, this.batchSize)) {
      const tensor = inceptionInput(batch, this.imageSize);
      const result = await this.session.run({ image: new ort.Tensor('float32', tensor.data, tensor.dims) }, ['pool']);
      const pool = result.pool!;
      const dim = (pool.dims as number[]).slice(1).reduce((a, b) => a * b, 1);
      const data = pool.data as Float32Array;
      for (let n = 0; n < batch.length; n++) out.push(Float64Array.from(data.subarray(n * dim, (n + 1) * dim)));
    }
    return out;
  }

  async fid(generated: readonly RgbImage[], references: readonly RgbImage[]): Promise<number> {
    if (generated.length < 2 || references.length < 2) {
      throw new PmgError('invalid-argument', `FID needs at least 2 generated and 2 reference images, got ${generated.length} and ${references.length}`);
    }
    const [x, y] = [await this.features(generated), await this.features(references)];
    return frechetDistanceOfFeatures(x, y);
  }
}
