/**
 * Benchmark of PMG's candidate search (issue 5 §3): for 2, 4 and 8 candidates, the wall time of
 * `exhaustive` (one batched run) and `early` (batched to a fraction of the steps, finish the best k)
 * relative to generating and scoring the candidates one at a time, and how often early's winner equals
 * exhaustive's. Runs on fixture models (random weights, a UNet widened so one call takes tens of ms), so
 * only the cost is meaningful; the agreement rate on random weights says nothing about real models.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyClip } from '../fixtures/tiny-clip.js';
import { writeTinySd } from '../fixtures/tiny-sd.js';
import type { KeywordResult } from '../personalize/extract-keywords.js';
import type { ModelSet } from '../providers/model-set.js';
import { personalize, type PersonalizeRequest } from '../personalize/personalize.js';
import { DEFAULT_PREVIEW_SCALE, type PreviewScale } from '../pipeline/latent-preview.js';
import { loadStableDiffusion } from '../providers/image/onnx-stable-diffusion.js';
import { SessionPool } from '../runtime/onnx-session.js';
import { loadClip } from '../runtime/transformers-models.js';
import { formatMachine, machineInfo, type MachineInfo } from './machine.js';
import { median } from './median.js';

export interface SearchBenchOptions {
  /** Candidate counts to time (default 2, 4, 8). */
  counts: number[];
  steps: number;
  size: number;
  guidance: number;
  /** Timed repeats per count and strategy (medians); repeat r uses seed r. */
  repeats: number;
  unetScale: number;
  earlyFraction: number;
  earlyKeep: number;
  /** Early search: x0 latents average-pooled s x s before the preview decode (default 2). */
  previewScale?: PreviewScale;
  scheduler: string;
  threads?: number;
}

export const SEARCH_BENCH_DEFAULTS: SearchBenchOptions = {
  counts: [2, 4, 8],
  steps: 10,
  size: 256,
  guidance: 7.5,
  repeats: 3,
  unetScale: 8,
  earlyFraction: 0.4,
  earlyKeep: 1,
  previewScale: DEFAULT_PREVIEW_SCALE,
  scheduler: 'ddim',
};

export interface SearchBenchRow {
  candidates: number;
  /** Medians in ms. */
  oneByOneMs: number;
  exhaustiveMs: number;
  earlyMs: number;
  /** Repeats in which early chose the same candidate as exhaustive. */
  agree: number;
  repeats: number;
}

export interface SearchBenchResult {
  machine: MachineInfo;
  options: SearchBenchOptions;
  rows: SearchBenchRow[];
}

const keywords: KeywordResult = {
  scene: 'movie',
  preference: ['vintage', 'noir', 'neon', 'retro'],
  target: ['dark', 'space', 'creature', 'ship', 'crew'],
  prompts: {},
  raw: {},
  model: 'bench',
  cached: true,
};

export async function benchSearch(options: SearchBenchOptions, onProgress: (line: string) => void = () => undefined): Promise<SearchBenchResult> {
  const root = mkdtempSync(join(tmpdir(), 'pmg-bench-search-'));
  try {
    const sdDir = writeTinySd(join(root, 'sd'), { unetScale: options.unetScale });
    await writeTinyClip(join(root, 'clip'));
    const sd = await loadStableDiffusion(sdDir, { pool: new SessionPool(), threads: options.threads, warn: () => undefined });
    const clip = await loadClip(join(root, 'clip'));
    const models: ModelSet = {
      llm: { id: 'none', supportsJsonSchema: false, generate: () => Promise.reject(new Error('the search benchmark gives keywords')) },
      clip,
      sd,
      ids: { llm: 'none', clip: join(root, 'clip'), sd: sdDir },
      close: async () => undefined,
    };
    const base = (count: number, seed: number): PersonalizeRequest => ({
      scene: 'movie',
      history: { items: [{ title: 'Heat' }] }, // not read: the keywords are given
      target: { item: { title: 'Alien' } },
      keywords,
      weights: Array.from({ length: count }, (_, i) => i + 1),
      steps: options.steps,
      guidance: options.guidance,
      width: options.size,
      height: options.size,
      scheduler: options.scheduler,
      seed,
      earlyFraction: options.earlyFraction,
      earlyKeep: options.earlyKeep,
      previewScale: options.previewScale ?? DEFAULT_PREVIEW_SCALE,
    });
    const time = async <T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> => {
      const started = performance.now();
      const value = await work();
      return { ms: performance.now() - started, value };
    };
    await personalize(models, { ...base(2, 0), steps: 2 }); // warm-up (session creation, first-run allocations)

    const rows: SearchBenchRow[] = [];
    for (const count of options.counts) {
      const single: number[] = [];
      const exhaustive: number[] = [];
      const early: number[] = [];
      let agree = 0;
      for (let r = 0; r < options.repeats; r++) {
        const request = base(count, r);
        single.push(
          (
            await time(async () => {
              for (const w of request.weights!) await personalize(models, { ...request, weights: [w] });
            })
          ).ms,
        );
        const full = await time(() => personalize(models, { ...request, search: 'exhaustive' }));
        const fast = await time(() => personalize(models, { ...request, search: 'early' }));
        exhaustive.push(full.ms);
        early.push(fast.ms);
        if (full.value.chosen === fast.value.chosen) agree++;
      }
      rows.push({ candidates: count, oneByOneMs: median(single), exhaustiveMs: median(exhaustive), earlyMs: median(early), agree, repeats: options.repeats });
      onProgress(`timed ${count} candidates`);
    }
    return { machine: machineInfo(), options, rows };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function formatSearchBench(r: SearchBenchResult, command: string): string {
  const o = r.options;
  const lines = [
    `command: ${command}`,
    `machine: ${formatMachine(r.machine)}`,
    `fixture models (random weights): UNet scale ${o.unetScale}, ${o.size}x${o.size} px, ${o.steps} steps, guidance ${o.guidance}, ${o.scheduler}; early: fraction ${o.earlyFraction}, keep ${o.earlyKeep}, preview scale ${o.previewScale ?? DEFAULT_PREVIEW_SCALE}`,
    `medians of ${o.repeats} repeats; cost relative to generating and scoring the candidates one at a time (lower is better)`,
    '',
    'candidates  one-by-one ms  exhaustive ms (rel)  early ms (rel)     early winner = exhaustive',
  ];
  for (const row of r.rows) {
    const rel = (ms: number): string => `(${(ms / row.oneByOneMs).toFixed(2)})`;
    lines.push(
      `${String(row.candidates).padStart(10)}  ${row.oneByOneMs.toFixed(0).padStart(13)}  ${row.exhaustiveMs.toFixed(0).padStart(13)} ${rel(row.exhaustiveMs).padStart(6)}  ${row.earlyMs.toFixed(0).padStart(8)} ${rel(row.earlyMs).padStart(6)}     ${row.agree}/${row.repeats}`,
    );
  }
  lines.push(
    '',
    'NOTE: these are tiny random-weight fixture models: only the cost columns are meaningful. The agreement of early with',
    'exhaustive says nothing about real models; measure it with real models (pmg generate --search early vs exhaustive).',
  );
  return `${lines.join('\n')}\n`;
}
