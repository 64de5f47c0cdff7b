/**
 * Benchmark of the soft-branch trainer (issue 12 §3; docs/training.md): for each variant (full: through the UNet and
 * the LLM body; map: UNet only), seconds per sample-step (one sample's forward and backward, batch 1), the peak RSS
 * of the run and the share of its wall time outside onnxruntime; and the UNet input gradient's cost: the gradient
 * graph's run (forward + backward wrt encoder_hidden_states, head 'mse') against a plain forward call, so
 * backward/forward = (gradient run − forward) / forward (goal ≤ 2.5: no weight gradients are computed).
 * On the tiny fixtures the figures show pmg's own overhead; `unetDir` points the UNet figures at another generator
 * (the real-scale random-weight SD 1.5, `pmg models fixtures --real-scale`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGradientSession } from '../autodiff/gradient-session.js';
import { SeededRandom } from '../core/random.js';
import { silentProgress } from '../core/progress.js';
import { writeFixtures } from '../fixtures/write-fixtures.js';
import { encodePrompt } from '../pipeline/prompt-encoding.js';
import { loadPrompts } from '../personalize/prompts.js';
import { loadDemoSamples } from '../data/demo-sample.js';
import { loadStableDiffusion } from '../providers/image/onnx-stable-diffusion.js';
import { loadLlmBody } from '../runtime/llm-body.js';
import { SessionPool } from '../runtime/onnx-session.js';
import { renderSoftPrompt, softPositionStates } from '../soft/soft-embeddings.js';
import { readSoftModule } from '../soft/soft-module.js';
import type { GradientSession } from '../spec/gradient.js';
import { trainNoiseSchedule } from '../training/noising.js';
import { timestepFeed, type GradientFactory, type PreparedSample } from '../training/sample-gradients.js';
import { preparedList } from '../training/sample-list.js';
import { trainSoftModule, type TrainSettings } from '../training/trainer.js';
import { formatMachine, machineInfo, type MachineInfo } from './machine.js';
import { median } from './median.js';
import { PeakMemory } from './peak-memory.js';

export interface TrainBenchOptions {
  /** Optimiser steps timed per variant (batch 1: one sample each), after one untimed step. */
  steps: number;
  /** Latent side × 8: the training resolution of the fixture runs. */
  resolution: number;
  /** Timed UNet calls (medians) for the gradient/forward ratio. */
  repeats: number;
  threads?: number;
  /** Also time the UNet gradient of this generator folder (e.g. the real-scale SD 1.5) at `unetResolutions`. */
  unetDir?: string;
  unetResolutions: number[];
}

export const TRAIN_BENCH_DEFAULTS: TrainBenchOptions = { steps: 6, resolution: 64, repeats: 5, unetResolutions: [256] };

export interface TrainVariantRow {
  variant: 'full' | 'map';
  secondsPerSampleStep: number;
  peakRssMiB: number;
  outsideShare: number;
}

export interface UnetGradientRow {
  model: string;
  resolution: number;
  forwardMs: number;
  gradientMs: number;
  /** (gradient − forward) / forward. */
  backwardRatio: number;
  peakRssMiB: number;
}

export interface TrainBenchResult {
  machine: MachineInfo;
  options: TrainBenchOptions;
  variants: TrainVariantRow[];
  unet: UnetGradientRow[];
}

/** Wraps a factory so the time inside every gradient session's `run` is summed into `spent.ms`. */
function timedFactory(factory: GradientFactory, spent: { ms: number }): GradientFactory {
  return async (path, options) => {
    const session = await factory(path, options);
    const timed: GradientSession = {
      options: session.options,
      async run(feeds, head) {
        const t0 = performance.now();
        try {
          return await session.run(feeds, head);
        } finally {
          spent.ms += performance.now() - t0;
        }
      },
      close: () => session.close(),
    };
    return timed;
  };
}

export async function benchTrain(options: TrainBenchOptions, onProgress: (line: string) => void = () => undefined): Promise<TrainBenchResult> {
  const root = mkdtempSync(join(tmpdir(), 'pmg-bench-train-'));
  const pool = new SessionPool();
  const threads = options.threads ? { threads: options.threads } : {};
  const peak = await PeakMemory.start();
  try {
    await writeFixtures(root, { only: ['sd', 'llm-body', 'soft'] });
    const model = await loadStableDiffusion(join(root, 'sd'), { pool, fuseAttention: false, warn: () => undefined, ...threads });
    const body = await loadLlmBody(join(root, 'llm-body'), { pool, ...threads });
    const module = readSoftModule(join(root, 'soft'));
    const prompts = loadPrompts();
    const random = new SeededRandom(1);
    const side = options.resolution / 8;
    const samples: PreparedSample[] = [];
    for (const demo of loadDemoSamples()) {
      const ids = body.tokenize(await renderSoftPrompt(demo.scene, demo.history, prompts));
      samples.push({
        id: demo.user,
        targetStates: await encodePrompt(model.textEncoder, 'a movie poster'),
        promptEmbeds: body.embed(ids).data,
        softStates: await softPositionStates(body, module, ids),
        posterior: { mean: random.fillGaussian(new Float32Array(4 * side * side)), dims: [4, side, side] },
      });
    }
    const bodySession = await pool.get(body.layout.modelFile, threads.threads ? { intraOpThreads: threads.threads } : {});
    const variants: TrainVariantRow[] = [];
    for (const variant of ['full', 'map'] as const) {
      const spent = { ms: 0 };
      const onnxMs = (): number => spent.ms + model.sessions.unet.runMs + bodySession.runMs;
      const settings: TrainSettings = {
        train: variant,
        noPrefix: false,
        noTokens: false,
        lr: 1e-3,
        weightDecay: 0.01,
        batch: 1,
        accumulation: 1,
        steps: options.steps,
        schedule: 'constant',
        warmup: 0,
        maxGradNorm: 1,
        seed: 0,
        valEvery: 0,
        checkpointEvery: options.steps,
        resolution: options.resolution,
      };
      const input = {
        settings,
        runDir: join(root, `run-${variant}`),
        shape: module.config,
        tensors: module.tensors,
        unet: model.unet,
        noise: trainNoiseSchedule(model.schedulerConfig),
        scalingFactor: 0.18215,
        train: preparedList(samples.map((s) => (variant === 'full' ? { ...s, softStates: undefined } : { ...s, promptEmbeds: undefined })) as PreparedSample[]),
        val: preparedList([]),
        ...(variant === 'full' ? { body } : {}),
        unetPath: join(root, 'sd', 'unet', 'model.onnx'),
        gradients: timedFactory((path, o) => openGradientSession(path, { ...o, ...threads }), spent),
        progress: silentProgress,
      };
      await trainSoftModule({ ...input, runDir: join(root, `warm-${variant}`), stopAfter: 1 }); // untimed: code paths warm
      await peak.reset();
      const before = onnxMs();
      // The log's seconds start after the gradient graphs are built: session creation is not a step's cost.
      const run = await trainSoftModule(input);
      const wall = run.log.at(-1)!.seconds * 1000;
      const inside = onnxMs() - before;
      variants.push({
        variant,
        secondsPerSampleStep: wall / 1000 / options.steps,
        peakRssMiB: (await peak.read()).bytes / 2 ** 20,
        outsideShare: Math.max(0, (wall - inside) / wall),
      });
      onProgress(`${variant}: ${(wall / options.steps).toFixed(1)} ms per sample-step`);
    }
    const unet = [await unetGradient(join(root, 'sd'), 'fixture UNet', options.resolution, options, pool, peak)];
    for (const resolution of options.unetDir ? options.unetResolutions : []) {
      unet.push(await unetGradient(options.unetDir!, options.unetDir!, resolution, options, pool, peak));
      onProgress(`${options.unetDir} at ${resolution} px: ratio ${unet.at(-1)!.backwardRatio.toFixed(2)}`);
    }
    return { machine: machineInfo(), options, variants, unet };
  } finally {
    await peak.close();
    await pool.releaseAll();
    rmSync(root, { recursive: true, force: true });
  }
}

async function unetGradient(
  sdDir: string,
  label: string,
  resolution: number,
  options: TrainBenchOptions,
  pool: SessionPool,
  peak: PeakMemory,
): Promise<UnetGradientRow> {
  const threads = options.threads ? { threads: options.threads } : {};
  const model = await loadStableDiffusion(sdDir, { pool, fuseAttention: false, warn: () => undefined, ...threads });
  const random = new SeededRandom(2);
  const side = resolution / 8;
  const sample = { data: random.fillGaussian(new Float32Array(4 * side * side)), dims: [1, 4, side, side] };
  const target = { data: random.fillGaussian(new Float32Array(4 * side * side)), dims: [1, 4, side, side] };
  const states = await encodePrompt(model.textEncoder, 'a movie poster');
  const cond = { data: states.data, dims: [1, states.dims.at(-2)!, states.dims.at(-1)!] };
  await peak.reset();
  const session = await openGradientSession(join(model.dir, 'unet', 'model.onnx'), {
    wrt: ['encoder_hidden_states'],
    output: 'out_sample',
    head: 'mse',
    ...threads,
  });
  try {
    const time = async (work: () => Promise<unknown>): Promise<number> => {
      await work(); // warm-up
      const ms: number[] = [];
      for (let r = 0; r < options.repeats; r++) {
        const t0 = performance.now();
        await work();
        ms.push(performance.now() - t0);
      }
      return median(ms);
    };
    const forwardMs = await time(() => model.unet.predict(sample, 500, cond));
    const gradientMs = await time(() => session.run({ sample, timestep: timestepFeed(model.unet, 500), encoder_hidden_states: cond }, { target }));
    return {
      model: label,
      resolution,
      forwardMs,
      gradientMs,
      backwardRatio: (gradientMs - forwardMs) / forwardMs,
      peakRssMiB: (await peak.read()).bytes / 2 ** 20,
    };
  } finally {
    await session.close();
  }
}

export function formatTrainBench(result: TrainBenchResult, command: string): string {
  return [
    `command: ${command}`,
    `machine: ${formatMachine(result.machine)}`,
    `trainer on the tiny fixtures at ${result.options.resolution} px, batch 1, ${result.options.steps} timed steps after one untimed (measured on this machine)`,
    '',
    'variant   s per sample-step   peak RSS MiB   outside onnxruntime',
    ...result.variants.map(
      (v) =>
        `${v.variant.padEnd(8)}  ${v.secondsPerSampleStep.toFixed(4).padStart(17)}   ${v.peakRssMiB.toFixed(0).padStart(12)}   ${(v.outsideShare * 100).toFixed(1).padStart(17)} %`,
    ),
    '',
    `UNet input gradient (wrt encoder_hidden_states, MSE head), medians of ${result.options.repeats} calls; backward/forward = (gradient run − forward) / forward, goal ≤ 2.5`,
    'model                                  px   forward ms   gradient run ms   backward/forward   peak RSS MiB',
    ...result.unet.map(
      (u) =>
        `${u.model.slice(-36).padEnd(36)} ${String(u.resolution).padStart(4)}   ${u.forwardMs.toFixed(1).padStart(10)}   ${u.gradientMs.toFixed(1).padStart(15)}   ${u.backwardRatio.toFixed(2).padStart(16)}   ${u.peakRssMiB.toFixed(0).padStart(12)}`,
    ),
    '',
  ].join('\n');
}
