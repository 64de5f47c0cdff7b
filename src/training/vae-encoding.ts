/**
 * Target images to latents with the generator's own VAE encoder (diffusers ONNX layout, `vae_encoder/model.onnx`):
 * the image is resized to the training resolution (square, resizeRgb's lanczos3) and scaled to [-1, 1]
 * (`sample` [1, 3, H, W]). Two export interfaces are read:
 *  - Optimum's current one, `latent_parameters` [1, 8, H/8, W/8]: the posterior's mean and log-variance
 *    (`latent_dist.parameters`); the trainer draws x0 = mean + exp(logvar / 2)·ε from its seeded stream each time a
 *    sample is used, as diffusers' training scripts do with `latent_dist.sample()`;
 *  - older exports' `latent_sample` [1, 4, H/8, W/8]: a sample drawn inside the graph, used as it is.
 * Latents are then multiplied by the VAE config's scaling_factor (0.18215 for SD 1.x/2.x; vae_encoder/config.json,
 * else vae_decoder/config.json, else 0.18215). The encoding is computed once per image and kept (`LatentPosterior`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImageRgb, resizeRgb } from '../core/image-io.js';
import type { SeededRandom } from '../core/random.js';
import { PmgError } from '../errors/pmg-error.js';
import { DEFAULT_VAE_SCALING_FACTOR } from '../providers/image/onnx-stable-diffusion.js';
import { OnnxSession, ort, type ExecutionProvider } from '../runtime/onnx-session.js';
import { parseJson } from '../core/json-text.js';

export interface LatentPosterior {
  /** [4, h, w] (unscaled). */
  mean: Float32Array;
  /** [4, h, w], or absent when the export gave a sample. */
  logvar?: Float32Array;
  dims: [number, number, number];
}

export interface VaeEncoding {
  scalingFactor: number;
  /** 'latent_parameters' or 'latent_sample'. */
  output: string;
  encode(imagePath: string): Promise<LatentPosterior>;
  close(): Promise<void>;
}

export async function openVaeEncoder(sdDir: string, resolution: number, options: { device?: ExecutionProvider; threads?: number } = {}): Promise<VaeEncoding> {
  const path = join(sdDir, 'vae_encoder', 'model.onnx');
  if (!existsSync(path)) {
    throw new PmgError(
      'model-file-missing',
      `the generator ${sdDir} has no vae_encoder/model.onnx; training encodes target images with it: use a diffusers ONNX export that includes the VAE encoder (Optimum exports one)`,
      { details: { path } },
    );
  }
  const session = await OnnxSession.create(path, {
    executionProvider: options.device ?? 'cpu',
    ...(options.threads ? { intraOpThreads: options.threads } : {}),
  });
  const output = ['latent_parameters', 'latent_sample'].find((name) => session.outputNames.includes(name));
  if (!output || !session.inputNames.includes('sample')) {
    await session.release();
    throw new PmgError(
      'model-layout',
      `VAE encoder ${path} has inputs ${session.inputNames.join(', ')} and outputs ${session.outputNames.join(', ')}; expected input sample and output latent_parameters (Optimum) or latent_sample`,
      { details: { path } },
    );
  }
  return {
    scalingFactor: vaeScalingFactor(sdDir),
    output,
    async encode(imagePath) {
      const image = await resizeRgb(await readImageRgb(imagePath), resolution, resolution);
      const plane = resolution * resolution;
      const data = new Float32Array(3 * plane);
      for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) data[c * plane + i] = (image.data[i * 3 + c]! / 255) * 2 - 1;
      const out = (await session.run({ sample: new ort.Tensor('float32', data, [1, 3, resolution, resolution]) }))[output]!;
      const values = out.data as Float32Array;
      const [, channels, h, w] = out.dims as number[];
      const expected = output === 'latent_parameters' ? 8 : 4;
      if (channels !== expected || out.type !== 'float32') {
        throw new PmgError(
          'model-layout',
          `VAE encoder ${path}: ${output} is ${out.type} [${out.dims.join(', ')}]; expected float32 with ${expected} channels`,
          { details: { path } },
        );
      }
      const size = 4 * h! * w!;
      return { mean: values.slice(0, size), ...(expected === 8 ? { logvar: values.slice(size, 2 * size) } : {}), dims: [4, h!, w!] };
    },
    async close() {
      await session.release();
    },
  };
}

/** The scaled latents x0 of a posterior: a draw from it when it has a variance. */
export function drawLatents(posterior: LatentPosterior, scalingFactor: number, random: SeededRandom): Float32Array {
  const x0 = new Float32Array(posterior.mean.length);
  for (let i = 0; i < x0.length; i++) {
    const logvar = posterior.logvar ? Math.min(20, Math.max(-30, posterior.logvar[i]!)) : undefined;
    const value = logvar === undefined ? posterior.mean[i]! : posterior.mean[i]! + Math.exp(0.5 * logvar) * random.nextGaussian();
    x0[i] = value * scalingFactor;
  }
  return x0;
}

function vaeScalingFactor(sdDir: string): number {
  for (const part of ['vae_encoder', 'vae_decoder']) {
    const file = join(sdDir, part, 'config.json');
    if (!existsSync(file)) continue;
    const config = parseJson(readFileSync(file, 'utf8'), file) as { scaling_factor?: unknown };
    if (typeof config.scaling_factor === 'number') return config.scaling_factor;
  }
  return DEFAULT_VAE_SCALING_FACTOR;
}
