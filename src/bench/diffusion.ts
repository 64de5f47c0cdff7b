/**
 * Benchmark of the diffusion pipeline on a fixture UNet sized so one call takes tens of ms:
 * wall time per image, the share of it spent outside onnxruntime's `run`, batched guidance
 * (one batch-2 call) against two batch-1 calls, resident memory after 1 and N generations, and one image's
 * decode by the fixture VAE and by the tiny autoencoder at its real width (bench/tiny-decoder.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinySd } from '../fixtures/tiny-sd.js';
import { SeededRandom } from '../core/random.js';
import { loadStableDiffusion, type OnnxStableDiffusion } from '../providers/image/onnx-stable-diffusion.js';
import { SessionPool } from '../runtime/onnx-session.js';
import { encodeConditioning } from '../pipeline/conditioning.js';
import { textToImage } from '../pipeline/text-to-image.js';
import { formatMachine, machineInfo, type MachineInfo } from './machine.js';
import { median } from './median.js';
import { benchTinyDecoder, timeDecode, type TinyDecoderBenchResult } from './tiny-decoder.js';

export interface DiffusionBenchOptions {
  steps: number;
  width: number;
  height: number;
  /** Timed generations for the per-image medians. */
  repeats: number;
  /** Generations in one process before the second RSS reading. */
  generations: number;
  unetScale: number;
  threads?: number;
  scheduler: string;
}

export const DIFFUSION_BENCH_DEFAULTS: DiffusionBenchOptions = {
  steps: 10,
  width: 512,
  height: 512,
  repeats: 5,
  generations: 50,
  unetScale: 8,
  scheduler: 'ddim',
};

export interface DiffusionBenchResult {
  machine: MachineInfo;
  options: DiffusionBenchOptions;
  /** Median of one UNet call with batch 2 (both guidance halves). */
  unetCallMs: number;
  /** Median wall time of one image (all steps + encode + decode). */
  imageMs: number;
  /** Median time inside onnxruntime `run` per image. */
  onnxRunMs: number;
  /** (wall - onnx run) / wall, median over the repeats. */
  outsideShare: number;
  /** Medians: one batch-2 UNet call vs two batch-1 calls. */
  batch2Ms: number;
  twoBatch1Ms: number;
  rssAfter1MiB: number;
  /** RSS after about half the generations: with the final reading, shows whether memory still grows. */
  rssAfterHalfMiB: number;
  halfGenerations: number;
  rssAfterNMiB: number;
  /** One image's decode: the fixture VAE (a toy: conv + resize), and the tiny autoencoder with its real architecture. */
  vaeDecodeMs: number;
  tinyDecoder: TinyDecoderBenchResult;
}

export async function benchDiffusion(options: DiffusionBenchOptions, onProgress: (line: string) => void = () => undefined): Promise<DiffusionBenchResult> {
  const root = mkdtempSync(join(tmpdir(), 'pmg-bench-sd-'));
  const pool = new SessionPool();
  try {
    const model = await loadStableDiffusion(writeTinySd(join(root, 'sd'), { unetScale: options.unetScale }), {
      pool,
      threads: options.threads,
      warn: () => undefined,
    });
    const request = {
      candidates: [{ prompt: 'movie poster, noir city at night, neon' }],
      steps: options.steps,
      width: options.width,
      height: options.height,
      scheduler: options.scheduler,
      warn: () => undefined,
    };
    const runMs = (): number => Object.values(model.sessions).reduce((sum, s) => sum + s.runMs, 0);

    await textToImage(model, { ...request, seed: 0 }); // warm-up
    const rssAfter1 = process.memoryUsage().rss;
    const walls: number[] = [];
    const inside: number[] = [];
    const shares: number[] = [];
    for (let i = 0; i < options.repeats; i++) {
      const before = runMs();
      const started = performance.now();
      await textToImage(model, { ...request, seed: i + 1 });
      const wall = performance.now() - started;
      const onnx = runMs() - before;
      walls.push(wall);
      inside.push(onnx);
      shares.push((wall - onnx) / wall);
    }
    onProgress(`timed ${options.repeats} generations`);

    const { batch2, twoBatch1, call } = await unetBatching(model, options);
    onProgress('timed batched guidance');

    const half = Math.max(1 + options.repeats, Math.floor(options.generations / 2));
    let rssAfterHalf = process.memoryUsage().rss;
    for (let i = 1 + options.repeats; i < options.generations; i++) {
      await textToImage(model, { ...request, seed: i });
      if (i + 1 === half) rssAfterHalf = process.memoryUsage().rss;
    }
    const rssAfterN = process.memoryUsage().rss;
    onProgress(`ran ${options.generations} generations`);

    const vaeDecode = await timeDecode(model.vaeDecoder, options.width, options.repeats);
    const tinyDecoder = await benchTinyDecoder({ size: options.width, repeats: options.repeats, ...(options.threads ? { threads: options.threads } : {}) });
    onProgress('timed the decoders');

    return {
      machine: machineInfo(),
      options,
      unetCallMs: call,
      imageMs: median(walls),
      onnxRunMs: median(inside),
      outsideShare: median(shares),
      batch2Ms: batch2,
      twoBatch1Ms: twoBatch1,
      rssAfter1MiB: rssAfter1 / 2 ** 20,
      rssAfterHalfMiB: rssAfterHalf / 2 ** 20,
      halfGenerations: half,
      rssAfterNMiB: rssAfterN / 2 ** 20,
      vaeDecodeMs: vaeDecode.ms,
      tinyDecoder,
    };
  } finally {
    await pool.releaseAll();
    rmSync(root, { recursive: true, force: true });
  }
}

async function unetBatching(model: OnnxStableDiffusion, options: DiffusionBenchOptions): Promise<{ batch2: number; twoBatch1: number; call: number }> {
  const [c] = await encodeConditioning(model.textEncoder, [{ prompt: 'a cute cat' }]);
  const dims = [1, 4, options.height / 8, options.width / 8];
  const sample = { data: new SeededRandom(0).fillGaussian(new Float32Array(dims.reduce((a, b) => a * b, 1))), dims };
  const pairSample = { data: new Float32Array(sample.data.length * 2), dims: [2, ...dims.slice(1)] };
  pairSample.data.set(sample.data, 0);
  pairSample.data.set(sample.data, sample.data.length);
  const states = { data: new Float32Array(c!.cond.data.length * 2), dims: [2, ...c!.cond.dims.slice(1)] };
  states.data.set(c!.uncond.data, 0);
  states.data.set(c!.cond.data, c!.cond.data.length);
  const batch2: number[] = [];
  const twoBatch1: number[] = [];
  for (let i = 0; i < Math.max(5, options.repeats * 2); i++) {
    let t = performance.now();
    await model.unet.predict(pairSample, 500, states);
    batch2.push(performance.now() - t);
    t = performance.now();
    await model.unet.predict(sample, 500, c!.uncond);
    await model.unet.predict(sample, 500, c!.cond);
    twoBatch1.push(performance.now() - t);
  }
  return { batch2: median(batch2), twoBatch1: median(twoBatch1), call: median(batch2) };
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(0)}`;
}

export function formatDiffusionBench(r: DiffusionBenchResult, command: string): string {
  const o = r.options;
  return [
    `command: ${command}`,
    `machine: ${formatMachine(r.machine)}`,
    `setup:   fixture UNet scale ${o.unetScale}, ${o.width}x${o.height}, ${o.steps} steps, ${o.scheduler}, guidance on (batch 2 per call), threads ${o.threads ?? 'all cores'}`,
    `UNet call (batch 2):           ${r.unetCallMs.toFixed(1)} ms (median)`,
    `wall time per image:           ${r.imageMs.toFixed(1)} ms (median of ${o.repeats})`,
    `inside onnxruntime run:        ${r.onnxRunMs.toFixed(1)} ms`,
    `outside onnxruntime run:       ${(r.outsideShare * 100).toFixed(2)} % of wall time (goal < 3 %)`,
    `batched guidance, 1 x batch 2: ${r.batch2Ms.toFixed(1)} ms   vs 2 x batch 1: ${r.twoBatch1Ms.toFixed(1)} ms (${(r.twoBatch1Ms / r.batch2Ms).toFixed(2)}x)`,
    `RSS after 1 generation:        ${r.rssAfter1MiB.toFixed(0)} MiB`,
    `RSS after ${String(r.halfGenerations).padEnd(3)} generations:     ${r.rssAfterHalfMiB.toFixed(0)} MiB`,
    `RSS after ${String(o.generations).padEnd(3)} generations:     ${r.rssAfterNMiB.toFixed(0)} MiB (${signed(r.rssAfterNMiB - r.rssAfterHalfMiB)} MiB over the second half)`,
    `decode 1 image, fixture VAE:   ${r.vaeDecodeMs.toFixed(1)} ms (a toy network; the real SD VAE: pmg bench diffusion --real-scale)`,
    `decode 1 image, tiny decoder:  ${r.tinyDecoder.ms.toFixed(1)} ms (TAESD's real architecture, ${r.tinyDecoder.gflop.toFixed(1)} GFLOP at ${r.tinyDecoder.size} px, ${r.tinyDecoder.gflops.toFixed(0)} GFLOP/s)`,
    '',
  ].join('\n');
}
