/**
 * `pmg bench metrics`: images per second of each metric at batch 1 and batch 16, on the fixture
 * networks (written to a temporary folder) and 64x64 synthetic images; medians of `repeats` runs.
 * A "batch" is one generated image against B references (set metrics: B vs B images).
 * clip-t / clip-i use the CLIP folder `clipDir` when given (e.g. a real CLIP), else the tiny fixture CLIP.
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
import { METRIC_NAMES, createMetric, metricInfo, type MetricName } from '../metrics/registry.js';
import { formatMachine, machineInfo, type MachineInfo } from './machine.js';

export interface MetricsBenchOptions {
  batches?: number[];
  repeats?: number;
  imageSize?: number;
  metrics?: MetricName[];
  clipDir?: string;
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
    const modelDirs: Partial<Record<MetricName, string>> = { lpips: join(dir, 'lpips'), dino: join(dir, 'dino'), fid: join(dir, 'fid'), 'clip-t': clipDir, 'clip-i': clipDir };
    const benchSize = (name: MetricName) => (name === 'ms-ssim' ? Math.max(size, 176) : size);
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
  return { machine: machineInfo(), imageSize: size, repeats, rows };
}

export function formatMetricsBench(result: MetricsBenchResult, command: string): string {
  const lines = [
    `command: ${command}`,
    `machine: ${formatMachine(result.machine)}`,
    `images ${result.imageSize}x${result.imageSize} (ms-ssim 176x176), fixture networks, median of ${result.repeats} runs`,
    '',
    `${'metric'.padEnd(9)}${'batch'.padStart(6)}${'images/s'.padStart(12)}${'median ms'.padStart(12)}`,
  ];
  for (const row of result.rows) {
    lines.push(row.skipped
      ? `${row.metric.padEnd(9)}${String(row.batch).padStart(6)}  skipped: ${row.skipped}`
      : `${row.metric.padEnd(9)}${String(row.batch).padStart(6)}${row.imagesPerSecond.toFixed(1).padStart(12)}${row.medianMs.toFixed(2).padStart(12)}`);
  }
  return `${lines.join('\n')}\n`;
}
