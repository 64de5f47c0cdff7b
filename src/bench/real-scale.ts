/**
 * `pmg bench diffusion --real-scale`: CPU times of the full-size networks, measured on random-weight models
 * with the real SD 1.5 architectures (fixtures/real-scale-sd.ts; compute does not depend on weight values).
 * Writes the models into the cache on first use, then runs stages in order, each adding rows:
 * session creation per model; text encoder; VAE encoder and decoder per size; UNet per size × batch (smallest
 * first: onnxruntime's arenas keep what a call grew them to, so a row's peak includes what earlier rows left);
 * one text-to-image generation through the real pipeline (the share of wall time outside onnxruntime's `run`);
 * then the compute of the `fast` and `paper` presets estimated from those medians. Every timing is a median of
 * `repeats` calls after one warm-up call, with the peak RSS of its window (peak-memory.ts) and, from the
 * writers' own FLOP counts, the achieved GFLOP/s.
 *
 * `realScaleStages` is the list the harness runs: more measurements (a tiny decoder, end-to-end presets) are
 * one more entry, written against RealScaleContext.
 */
import { join } from 'node:path';
import { SeededRandom } from '../core/random.js';
import { removeOrphanTemporaries } from '../core/atomic-write.js';
import { writeRealScaleFixtures } from '../fixtures/real-scale-fixtures.js';
import { SD15_ARCHITECTURE, sd15Components, type Sd15Architecture, type Sd15ComponentName } from '../fixtures/real-scale-sd.js';
import type { FlopCount } from '../fixtures/flop-count.js';
import type { AttentionKind } from '../fixtures/real-layers.js';
import { loadStableDiffusion, type OnnxStableDiffusion } from '../providers/image/onnx-stable-diffusion.js';
import { ort, SessionPool, type OnnxSession, type SessionOptions } from '../runtime/onnx-session.js';
import type { FloatTensor } from '../spec/tensor.js';
import { decodeLatents } from '../pipeline/decode-latents.js';
import { textToImage } from '../pipeline/text-to-image.js';
import { TAESD_ARCHITECTURES, decoderFlops } from '../fixtures/tiny-taesd.js';
import { fuseAttentionCopies } from '../providers/image/onnx-stable-diffusion.js';
import { loadTinyDecoder } from '../providers/image/tiny-decoder.js';
import { onnxFileFor } from '../runtime/fp32-copies.js';
import type { VaeDecoder } from '../spec/diffusion-models.js';
import { presetRunStages, type PresetRun } from './real-scale-preset-runs.js';
import { machineInfo, type MachineInfo } from './machine.js';
import { median } from './median.js';
import { PeakMemory } from './peak-memory.js';
import { presetEstimates, type PresetEstimate } from './real-scale-presets.js';

export interface RealScaleBenchOptions {
  /** Root of the real-scale fixtures; the SD 1.5 folder is `<dir>/sd15` (written when missing or stale). */
  dir: string;
  /** Image sides in pixels (multiples of 8). */
  sizes: number[];
  /** UNet batch sizes. */
  batches: number[];
  /** Timed calls per measurement (after one warm-up call). */
  repeats: number;
  /** Intra-op threads (default: the machine's cores). */
  threads?: number;
  /** Denoising steps of the pipeline run that measures the share outside onnxruntime. */
  pipelineSteps: number;
  /**
   * 'fused' (default, what pmg loads on CPU): the UNet's and VAE's attention fused into onnxruntime's
   * MultiHeadAttention kernel by pmg's rewrite of the exported graphs (runtime/attention-copies.ts); 'matmul': the
   * graphs as exported.
   */
  attention?: AttentionKind;
  /** Steps of the `paper` preset actually run (the rest of its 30 are extrapolated; default 2). */
  paperSteps: number;
  /** Tests: run the presets at this image side instead of theirs (512 px). */
  presetSize?: number;
  /** Tests: an SD folder already written with this (reduced) architecture, used instead of `<dir>/sd15`, and a tiny decoder folder. */
  models?: { dir: string; architecture: Sd15Architecture; taesd?: string };
}

export const REAL_SCALE_BENCH_DEFAULTS = { sizes: [256, 512], batches: [1, 2, 4], repeats: 3, pipelineSteps: 2, paperSteps: 2 } as const;

export interface SessionTiming {
  model: string;
  seconds: number;
  /** Process RSS once the session exists (every session created so far included). */
  rssAfterBytes: number;
  peakRssBytes: number;
}

export interface CallTiming {
  /** Folder name of the network, e.g. 'unet'. */
  model: string;
  /** What one call does, e.g. 'UNet call'. */
  label: string;
  /** Image side in pixels. */
  size: number;
  batch: number;
  medianSeconds: number;
  /** Seconds of each timed call. */
  samples: number[];
  /** FLOPs of one call (from the graph writer's count), when known. */
  flops?: number;
  gflopPerSecond?: number;
  /** RSS when the measurement started (sessions, and what earlier calls left in onnxruntime's arenas). */
  rssBeforeBytes: number;
  peakRssBytes: number;
}

export interface PipelineShare {
  size: number;
  steps: number;
  wallSeconds: number;
  onnxSeconds: number;
  /** (wall - inside onnxruntime run) / wall. */
  outsideShare: number;
}

export interface RealScaleBenchResult {
  machine: MachineInfo;
  options: Omit<RealScaleBenchOptions, 'models'>;
  /** The SD folder measured, and whether it was written by this run. */
  models: { dir: string; architecture: 'sd15' | 'reduced'; attention: AttentionKind; written: boolean; writeSeconds: number };
  threads: number | 'all cores';
  sessions: SessionTiming[];
  calls: CallTiming[];
  pipeline?: PipelineShare;
  /** The presets run through the pipeline (real-scale-preset-runs.ts). */
  presetRuns: PresetRun[];
  /** The presets' compute estimated from the per-call medians (a cross-check of the runs). */
  presets: PresetEstimate[];
  /** Free-form lines that stages add to the report. */
  notes: string[];
  /** Largest window peak over the run. */
  peakRssBytes: number;
  /** How peaks were read: 'VmHWM' (Linux, exact) or 'sampled'. */
  peakSource: 'VmHWM' | 'sampled';
}

/** What a stage gets: the loaded model, a way to time calls, and the result so far. */
export interface RealScaleContext {
  readonly options: RealScaleBenchOptions;
  /** The SD 1.5 folder and its architecture. */
  readonly sdDir: string;
  readonly architecture: Sd15Architecture;
  readonly pool: SessionPool;
  readonly sessionOptions: SessionOptions;
  readonly result: RealScaleBenchResult;
  /** The loaded pipeline model (text encoder, UNet, VAE decoder from the pool). */
  model(): Promise<OnnxStableDiffusion>;
  /** The real-width tiny autoencoder decoder (`<dir>/taesd`). */
  tinyDecoder(): Promise<VaeDecoder>;
  /** Runs `body` with the peak RSS of its window measured (VmHWM reset before). */
  window<T>(body: () => Promise<T>): Promise<{ value: T; beforeBytes: number; peakBytes: number }>;
  /** A session from the pool, its creation timed and recorded once. */
  session(name: string, path: string): Promise<OnnxSession>;
  /** FLOPs counted by a component's graph writer. */
  flops(component: Sd15ComponentName): FlopCount;
  /** Warm up once, time `repeats` calls, record the median and the window's peak RSS. */
  time(
    row: Omit<CallTiming, 'medianSeconds' | 'samples' | 'gflopPerSecond' | 'rssBeforeBytes' | 'peakRssBytes'>,
    call: () => Promise<unknown>,
  ): Promise<CallTiming>;
  progress(line: string): void;
}

export interface RealScaleStage {
  name: string;
  run(context: RealScaleContext): Promise<void>;
}

const TEXT_TOKENS = 77;

function randomTensor(dims: number[], seed: number): FloatTensor {
  return { data: new SeededRandom(seed).fillGaussian(new Float32Array(dims.reduce((a, b) => a * b, 1))), dims };
}

/** The stages every run has, in order; add to this list to measure more. */
export const realScaleStages: RealScaleStage[] = [
  {
    name: 'session creation',
    async run(c) {
      for (const component of sd15Components()) await c.session(component.name, join(c.sdDir, component.name, 'model.onnx'));
    },
  },
  {
    name: 'text encoder',
    async run(c) {
      const { textEncoder } = await c.model();
      const ids = [textEncoder.bosTokenId, ...textEncoder.tokenize('movie poster, noir city at night, neon').slice(0, TEXT_TOKENS - 2), textEncoder.eosTokenId];
      const window = [...ids, ...Array<number>(TEXT_TOKENS - ids.length).fill(textEncoder.padTokenId)];
      const flops = c.flops('text_encoder').evaluate({ pixels: 0, tokens: TEXT_TOKENS, batch: 1 });
      await c.time({ model: 'text_encoder', label: 'text encoder call', size: 0, batch: 1, flops }, () => textEncoder.encode([window]));
    },
  },
  ...presetRunStages,
  {
    name: 'VAE encoder',
    async run(c) {
      const session = await c.session('vae_encoder', join(c.sdDir, 'vae_encoder', 'model.onnx'));
      for (const size of c.options.sizes) {
        const image = randomTensor([1, 3, size, size], size);
        const flops = c.flops('vae_encoder').evaluate({ pixels: size * size, tokens: 0, batch: 1 });
        await c.time({ model: 'vae_encoder', label: 'VAE encode', size, batch: 1, flops }, () =>
          session.run({ sample: new ort.Tensor('float32', image.data, image.dims) }),
        );
      }
    },
  },
  {
    name: 'VAE decoder',
    async run(c) {
      const { vaeDecoder } = await c.model();
      for (const size of c.options.sizes) {
        const latents = randomTensor([1, 4, size / 8, size / 8], size);
        const flops = c.flops('vae_decoder').evaluate({ pixels: (size / 8) ** 2, tokens: 0, batch: 1 });
        await c.time({ model: 'vae_decoder', label: 'VAE decode', size, batch: 1, flops }, () => vaeDecoder.decode(latents));
      }
    },
  },
  {
    name: 'tiny decoder',
    async run(c) {
      const decoder = await c.tinyDecoder();
      for (const size of c.options.sizes) {
        const latents = randomTensor([1, 4, size / 8, size / 8], size);
        const flops = decoderFlops(TAESD_ARCHITECTURES.real, size / 8, size / 8);
        await c.time({ model: 'tiny_decoder', label: 'tiny decode', size, batch: 1, flops }, () => decodeLatents(decoder, latents));
      }
    },
  },
  {
    name: 'UNet',
    async run(c) {
      const { unet } = await c.model();
      const hidden = c.architecture.unet.crossAttentionDim;
      const cases = c.options.sizes
        .flatMap((size) => c.options.batches.map((batch) => ({ size, batch })))
        .sort((a, b) => a.size * a.size * a.batch - b.size * b.size * b.batch);
      for (const { size, batch } of cases) {
        const sample = randomTensor([batch, 4, size / 8, size / 8], size + batch);
        const states = randomTensor([batch, TEXT_TOKENS, hidden], batch);
        const flops = c.flops('unet').evaluate({ pixels: (size / 8) ** 2, tokens: TEXT_TOKENS, batch });
        await c.time({ model: 'unet', label: 'UNet call', size, batch, flops }, () => unet.predict(sample, 500, states));
      }
    },
  },
  {
    name: 'pipeline overhead',
    async run(c) {
      const model = await c.model();
      const size = Math.min(...c.options.sizes);
      const request = { candidates: [{ prompt: 'movie poster, noir city at night, neon' }], width: size, height: size, warn: () => undefined };
      await textToImage(model, { ...request, steps: 1 }); // warm-up: the arenas grow to this size
      const runSeconds = (): number => Object.values(model.sessions).reduce((sum, s) => sum + s.runMs, 0) / 1000;
      const before = runSeconds();
      const started = performance.now();
      await textToImage(model, { ...request, steps: c.options.pipelineSteps, seed: 1 });
      const wallSeconds = (performance.now() - started) / 1000;
      const onnxSeconds = runSeconds() - before;
      c.result.pipeline = { size, steps: c.options.pipelineSteps, wallSeconds, onnxSeconds, outsideShare: (wallSeconds - onnxSeconds) / wallSeconds };
    },
  },
  {
    name: 'preset estimates',
    async run(c) {
      c.result.presets = presetEstimates(c.result.calls, { decoders: { fast: 'tiny_decoder' } });
    },
  },
];

export async function benchRealScale(options: RealScaleBenchOptions, onProgress: (line: string) => void = () => undefined): Promise<RealScaleBenchResult> {
  const started = performance.now();
  let sdDir: string;
  let written = false;
  if (options.models) {
    sdDir = options.models.dir;
  } else {
    for (const path of await removeOrphanTemporaries(options.dir)) onProgress(`removed ${path}, left by an interrupted write`);
    const [fixture] = await writeRealScaleFixtures(options.dir, { onProgress });
    sdDir = fixture!.dir;
    written = !fixture!.reused;
  }
  const taesdDir = options.models?.taesd ?? join(options.dir, 'taesd');
  const architecture = options.models?.architecture ?? SD15_ARCHITECTURE;
  const attention = options.attention ?? 'fused';
  if (attention === 'fused') fuseAttentionCopies(sdDir, 'real-scale sd15', onProgress);
  const fusedAttention = attention === 'fused';
  const components = new Map(sd15Components({ architecture, attention }).map((c) => [c.name, c]));
  const flopCounts = new Map<Sd15ComponentName, FlopCount>();

  const sessionOptions: SessionOptions = { executionProvider: 'cpu', ...(options.threads ? { intraOpThreads: options.threads } : {}) };
  const pool = new SessionPool();
  const peak = await PeakMemory.start();
  const { models: _models, ...shownOptions } = options;
  const result: RealScaleBenchResult = {
    machine: machineInfo(),
    options: shownOptions,
    models: {
      dir: sdDir,
      architecture: options.models ? 'reduced' : 'sd15',
      attention,
      written,
      writeSeconds: written ? (performance.now() - started) / 1000 : 0,
    },
    threads: options.threads ?? 'all cores',
    sessions: [],
    calls: [],
    presetRuns: [],
    presets: [],
    notes: [],
    peakRssBytes: 0,
    peakSource: 'sampled',
  };
  const window = async <T>(body: () => Promise<T>): Promise<{ value: T; beforeBytes: number; peakBytes: number }> => {
    await peak.reset();
    const beforeBytes = process.memoryUsage.rss();
    const value = await body();
    const reading = await peak.read();
    if (reading.hwmBytes !== undefined) result.peakSource = 'VmHWM';
    result.peakRssBytes = Math.max(result.peakRssBytes, reading.bytes);
    return { value, beforeBytes, peakBytes: reading.bytes };
  };
  let loaded: Promise<OnnxStableDiffusion> | undefined;
  let tiny: Promise<VaeDecoder> | undefined;
  const context: RealScaleContext = {
    options,
    sdDir,
    architecture,
    pool,
    sessionOptions,
    result,
    model: () =>
      (loaded ??= loadStableDiffusion(sdDir, {
        pool,
        fuseAttention: fusedAttention,
        ...(options.threads ? { threads: options.threads } : {}),
        warn: () => undefined,
      })),
    tinyDecoder: () => (tiny ??= loadTinyDecoder(taesdDir, { pool, ...(options.threads ? { threads: options.threads } : {}) }).then((t) => t.decoder)),
    window,
    async session(name, path) {
      const known = result.sessions.some((s) => s.model === name);
      const timer = performance.now();
      const { value, peakBytes } = await window(() => pool.get(onnxFileFor(path, 'cpu', { fusedAttention }), sessionOptions));
      if (!known) {
        result.sessions.push({ model: name, seconds: (performance.now() - timer) / 1000, rssAfterBytes: process.memoryUsage.rss(), peakRssBytes: peakBytes });
        onProgress(`session ${name}: ${((performance.now() - timer) / 1000).toFixed(1)} s`);
      }
      return value;
    },
    flops(component) {
      let count = flopCounts.get(component);
      if (!count) flopCounts.set(component, (count = components.get(component)!.graph().writer.flops));
      return count;
    },
    async time(row, call) {
      const {
        value: samples,
        beforeBytes,
        peakBytes,
      } = await window(async () => {
        await call();
        const seconds: number[] = [];
        for (let i = 0; i < options.repeats; i++) {
          const t = performance.now();
          await call();
          seconds.push((performance.now() - t) / 1000);
        }
        return seconds;
      });
      const medianSeconds = median(samples);
      const timing: CallTiming = {
        ...row,
        medianSeconds,
        samples,
        rssBeforeBytes: beforeBytes,
        peakRssBytes: peakBytes,
        ...(row.flops !== undefined ? { gflopPerSecond: row.flops / 1e9 / medianSeconds } : {}),
      };
      result.calls.push(timing);
      onProgress(`${row.label}${row.size ? ` ${row.size} px` : ''} batch ${row.batch}: ${medianSeconds.toFixed(2)} s`);
      return timing;
    },
    progress: onProgress,
  };
  try {
    for (const stage of realScaleStages) {
      onProgress(`stage: ${stage.name}`);
      await stage.run(context);
    }
    return result;
  } finally {
    await pool.releaseAll();
    await peak.close();
  }
}
