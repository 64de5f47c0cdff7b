/**
 * Decode time of the tiny autoencoder (TAESD) with its real architecture (64 channels, blocks [3, 3, 3, 1],
 * 1,222,531 random weights: its cost does not depend on the values), and of any other VaeDecoder on the same
 * latents: the median of `repeats` decodes of one image after a warm-up, with the achieved GFLOP/s.
 * `pmg bench diffusion` prints it beside the fixture VAE; the real-scale bench compares it with the SD VAE.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../core/random.js';
import { TAESD_ARCHITECTURES, decoderFlops, writeTinyAutoencoder, type TinyAutoencoderWidth } from '../fixtures/tiny-taesd.js';
import { decodeLatents } from '../pipeline/decode-latents.js';
import { loadTinyDecoder } from '../providers/image/tiny-decoder.js';
import { SessionPool } from '../runtime/onnx-session.js';
import type { VaeDecoder } from '../spec/diffusion-models.js';
import { median } from './median.js';

export interface DecodeTiming {
  /** Image side in pixels (latents are side/8). */
  size: number;
  /** Median ms of one image's decode (latents / scaling factor, then the decoder). */
  ms: number;
}

export interface TinyDecoderBenchResult extends DecodeTiming {
  width: TinyAutoencoderWidth;
  /** Floating-point operations of one decode, and the rate achieved. */
  gflop: number;
  gflops: number;
  /** ms to create the decoder's session. */
  createMs: number;
}

/** Median decode time of one `size` x `size` image by `decoder`, after one warm-up decode. */
export async function timeDecode(decoder: VaeDecoder, size: number, repeats: number): Promise<DecodeTiming> {
  const dims = [1, 4, size / 8, size / 8];
  const latents = { data: new SeededRandom(11).fillGaussian(new Float32Array(dims.reduce((a, b) => a * b, 1))), dims };
  await decodeLatents(decoder, latents);
  const times: number[] = [];
  for (let i = 0; i < Math.max(1, repeats); i++) {
    const started = performance.now();
    await decodeLatents(decoder, latents);
    times.push(performance.now() - started);
  }
  return { size, ms: median(times) };
}

/** Writes the tiny decoder (`width`, default 'real') into a temporary folder, times its decode, removes it. */
export async function benchTinyDecoder(options: {
  size: number;
  repeats: number;
  threads?: number;
  width?: TinyAutoencoderWidth;
}): Promise<TinyDecoderBenchResult> {
  const width = options.width ?? 'real';
  const root = mkdtempSync(join(tmpdir(), 'pmg-bench-taesd-'));
  const pool = new SessionPool();
  try {
    const dir = writeTinyAutoencoder(join(root, 'taesd'), { width });
    const started = performance.now();
    const tiny = await loadTinyDecoder(dir, { pool, ...(options.threads ? { threads: options.threads } : {}) });
    const createMs = performance.now() - started;
    const timing = await timeDecode(tiny.decoder, options.size, options.repeats);
    const flops = decoderFlops(TAESD_ARCHITECTURES[width], options.size / 8, options.size / 8);
    return { ...timing, width, gflop: flops / 1e9, gflops: flops / 1e9 / (timing.ms / 1000), createMs };
  } finally {
    await pool.releaseAll();
    rmSync(root, { recursive: true, force: true });
  }
}
