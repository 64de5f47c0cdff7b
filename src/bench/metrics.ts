/**
 * `pmg bench metrics`: images per second of each metric at batch 1 and batch 16, on the fixture
 * networks (written to a temporary folder) and 64x64 synthetic images; medians of `repeats` runs.
 * A "batch" is one generated image against B references (set metrics: B vs B images).
 * clip-t / clip-i use the CLIP folder `clipDir` when given (e.g. a real CLIP), else the tiny fixture CLIP.
 * With fid: the time of one 2048-d Fréchet distance (Inception pool3's width) between two dense seeded
 * covariances, the step whose cost grows as d³ (metrics/frechet-distance.ts), one run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../core/random.js';
import type { RgbImage } from '../core/image-io.js';
import { writeTinyClip } from '../fixtures/tiny-clip.js';
import { writeTinyDino } from '../fixtures/tiny-dino.js';
import { writeTinyInception } from '../fixtures/tiny-inception.js';
import { writeTinyLpips } from '../fixtures/tiny-lpips.js';
import { SessionPool } from '../runtime/onnx-session.js';
import { frechetDistanceDetails } from '../metrics/frechet-distance.js';
import { METRIC_NAMES, createMetric, metricInfo, type MetricName } from '../metrics/registry.js';
import { seededGaussianStats } from '../metrics/seeded-gaussian.js';
import { MS_SSIM_MIN_SIDE } from '../metrics/ms-ssim.js';
import { formatMachine, machineInfo, type MachineInfo } from './machine.js';

export interface MetricsBenchOptions {
  batches?: number[];
  repeats?: number;
  imageSize?: number;
  metrics?: MetricName[];
  clipDir?: string;
  /** Time one 2048-d Fréchet distance when fid is benchmarked (default true). */
  fid2048?: boolean;
}

export interface Fid2048Timing {
  dim: number;
  /** Wall-clock seconds of frechetDistance on two dense dim x dim covariances (statistics given). */
  seconds: number;
  value: number;
  route: string;
}

export interface MetricsBenchRow {
  metric: MetricName;
  batch: number;
  imagesPerSecond: number;
  medianMs: number;
  skipped?: string;
}

export interface MetricsBenchResult {
  machine: MachineInfo;
  imageSize: number;
  repeats: number;
  rows: MetricsBenchRow[];
  fid2048?: Fid2048Timing;
}

export function syntheticImage(rng: SeededRandom, size: number): RgbImage {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng.nextFloat() * 256);
  return { width: size, height: size, data };
}

export async function benchMetrics(options: MetricsBenchOptions = {}): Promise<MetricsBenchResult> {
  const batches = options.batches ?? [1, 16];
  const repeats = options.repeats ?? 5;
  const size = options.imageSize ?? 64;
  const names = options.metrics ?? [...METRIC_NAMES];
  const dir = await mkdtemp(join(tmpdir(), 'pmg-bench-metrics-'));
  const pool = new SessionPool();
  const rng = new SeededRandom(1);
  const rows: MetricsBenchRow[] = [];
  try {
    await writeTinyLpips(join(dir, 'lpips'));
    await writeTinyDino(join(dir, 'dino'));
    await writeTinyInception(join(dir, 'fid'));
    const clipDir = options.clipDir ?? (await writeTinyClip(join(dir, 'clip')), join(dir, 'clip'));
    const modelDirs: Partial<Record<MetricName, string>> = {
      lpips: join(dir, 'lpips'),
      dino: join(dir, 'dino'),
      fid: join(dir, 'fid'),
      'clip-t': clipDir,
      'clip-i': clipDir,
    };
    const benchSize = (name: MetricName) => (name === 'ms-ssim' ? Math.max(size, MS_SSIM_MIN_SIDE) : size);
    for (const name of names) {
      const info = metricInfo(name);
      const metric = await createMetric(name, { modelDir: modelDirs[name], pool, batchSize: Math.max(...batches) });
      for (const batch of batches) {
        const s = benchSize(name);
        const generated = syntheticImage(rng, s);
        const references = Array.from({ length: Math.max(batch, info.kind === 'set' ? 2 : 1) }, () => syntheticImage(rng, s));
        const run = async () => {
          if (info.kind === 'set') await metric.compareSets([generated, ...references.slice(1)], references);
          else if (info.kind === 'text') await metric.scoreText(references, 'a red square');
          else await metric.compare(generated, references);
        };
        await run(); // warm-up (session creation, first-run allocations)
        const times: number[] = [];
        for (let r = 0; r < repeats; r++) {
          const started = performance.now();
          await run();
          times.push(performance.now() - started);
        }
        times.sort((a, b) => a - b);
        const medianMs = times[Math.floor(times.length / 2)]!;
        rows.push({ metric: name, batch, medianMs, imagesPerSecond: (references.length / medianMs) * 1000 });
      }
    }
  } finally {
    await pool.releaseAll();
    await rm(dir, { recursive: true, force: true });
  }
  const fid2048 = names.includes('fid') && options.fid2048 !== false ? timeFid2048() : undefined;
  return { machine: machineInfo(), imageSize: size, repeats, rows, ...(fid2048 ? { fid2048 } : {}) };
}

/** One 2048-d Fréchet distance on the statistics of the FID reference test (dense, positive definite). */
export function timeFid2048(dim = 2048): Fid2048Timing {
  const a = seededGaussianStats(2048001, dim, 64);
  const b = seededGaussianStats(2048002, dim, 64, 0.1);
  const started = performance.now();
  const result = frechetDistanceDetails(a, b);
  return { dim, seconds: (performance.now() - started) / 1000, value: result.value, route: result.route };
}

export function formatMetricsBench(result: MetricsBenchResult, command: string): string {
  const lines = [
    `command: ${command}`,
    `machine: ${formatMachine(result.machine)}`,
    `images ${result.imageSize}x${result.imageSize} (ms-ssim ${MS_SSIM_MIN_SIDE}x${MS_SSIM_MIN_SIDE}), fixture networks, median of ${result.repeats} runs`,
    '',
    `${'metric'.padEnd(9)}${'batch'.padStart(6)}${'images/s'.padStart(12)}${'median ms'.padStart(12)}`,
  ];
  for (const row of result.rows) {
    lines.push(
      row.skipped
        ? `${row.metric.padEnd(9)}${String(row.batch).padStart(6)}  skipped: ${row.skipped}`
        : `${row.metric.padEnd(9)}${String(row.batch).padStart(6)}${row.imagesPerSecond.toFixed(1).padStart(12)}${row.medianMs.toFixed(2).padStart(12)}`,
    );
  }
  if (result.fid2048) {
    const f = result.fid2048;
    lines.push('', `fid ${f.dim}-d Fréchet distance (two dense ${f.dim}x${f.dim} covariances, eigenvalues only, one run): ${f.seconds.toFixed(2)} s`);
  }
  return `${lines.join('\n')}\n`;
}
