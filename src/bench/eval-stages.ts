/**
 * The share of an eval run spent in each stage — LLM (keywords), diffusion (encode + denoise + decode),
 * scoring (CLIP d_p/d_t for the selection), metrics (LPIPS, SSIM, CLIP-I, CLIP-T of the outputs) and
 * other (reading references, writing images, SQLite) — measured on a small fixture eval run: the fixture
 * models, synthetic 64x64 history/target images, every method, three α values. Model loading is not counted.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng } from '../core/image-io.js';
import { EvalScorer } from '../experiments/eval-metrics.js';
import type { EvalConfig } from '../experiments/run-config.js';
import { RunStore } from '../experiments/run-store.js';
import { runEval } from '../experiments/runner.js';
import { loadModelSet } from '../providers/model-set.js';
import { ModelStore } from '../runtime/model-store.js';
import type { Item, Sample } from '../spec/behaviour.js';
import { patternImage, writeEvalModels } from '../testing/eval-fixture.js';

export interface EvalStageShare {
  stage: 'llm' | 'diffusion' | 'scoring' | 'metrics' | 'other';
  ms: number;
  /** Fraction of the run's wall time (0..1). */
  share: number;
}

export interface EvalStagesResult {
  samples: number;
  steps: number;
  size: number;
  wallMs: number;
  stages: EvalStageShare[];
}

export interface EvalStagesOptions {
  samples?: number;
  steps?: number;
  size?: number;
}

export async function benchEvalStages(options: EvalStagesOptions = {}): Promise<EvalStagesResult> {
  const count = options.samples ?? 3;
  const steps = options.steps ?? 4;
  const size = options.size ?? 64;
  const dir = await mkdtemp(join(tmpdir(), 'pmg-bench-eval-'));
  try {
    await writeEvalModels(join(dir, 'models'));
    const samples: Sample[] = [];
    for (let s = 0; s < count; s++) {
      const item = async (n: number, title: string): Promise<Item> => {
        const image = join(dir, `item-${s}-${n}.png`);
        await writeFile(image, await encodePng(patternImage(s * 10 + n + 1, size)));
        return { id: `${s}-${n}`, title, genres: ['Drama'], keywords: ['drama', 'night city'], image };
      };
      const history = [await item(0, 'First'), await item(1, 'Second'), await item(2, 'Third')];
      const target = await item(3, 'Target');
      samples.push({
        id: `bench:${s}`,
        user: String(s),
        scene: 'movie',
        history: { items: history },
        target: { item: target },
        historyImages: history.map((h) => h.image!),
        targetImage: target.image!,
      });
    }
    const store = new ModelStore({ cacheDir: join(dir, 'cache'), endpoint: 'http://127.0.0.1:9', offline: true });
    const models = await loadModelSet({ models: join(dir, 'models') }, { store, env: {}, offline: true });
    const metrics = ['lpips', 'ssim', 'clip-i', 'clip-t'] as const;
    const scorer = await EvalScorer.load(metrics, { lpips: join(dir, 'models', 'lpips'), clip: join(dir, 'models', 'clip') });
    const config: EvalConfig = {
      dataset: 'custom',
      data: '',
      sampleSeed: 0,
      methods: ['target-only', 'keywords', 'pmg'],
      alphas: [0.5, 0.67, 0.8],
      metrics: [...metrics],
      seed: 0,
      steps,
      size,
      models: {},
    };
    const runStore = RunStore.open(join(dir, 'run'), config);
    let wallMs: number;
    try {
      const started = performance.now();
      await runEval({ store: runStore, outDir: join(dir, 'run'), samples, models, scorer });
      wallMs = performance.now() - started;
    } finally {
      await models.close();
    }
    const sums = { llm: 0, diffusion: 0, scoring: 0, metrics: 0 };
    for (const row of runStore.results()) {
      const t = row.timings;
      sums.llm += t.keywords ?? 0;
      sums.diffusion += (t.encode ?? 0) + (t.denoise ?? 0) + (t.decode ?? 0);
      sums.scoring += t.score ?? 0;
      sums.metrics += t.metrics ?? 0;
    }
    runStore.close();
    const other = Math.max(0, wallMs - sums.llm - sums.diffusion - sums.scoring - sums.metrics);
    const stages: EvalStageShare[] = (Object.entries({ ...sums, other }) as [EvalStageShare['stage'], number][]).map(([stage, ms]) => ({
      stage,
      ms,
      share: ms / wallMs,
    }));
    return { samples: count, steps, size, wallMs, stages };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatEvalStages(result: EvalStagesResult): string {
  const lines = [
    `eval run share by stage (fixture models, ${result.samples} samples x 3 methods, 3 α, ${result.steps} steps, ${result.size}x${result.size}; ${result.wallMs.toFixed(0)} ms, model loading excluded)`,
    `${'stage'.padEnd(10)}${'ms'.padStart(10)}${'share'.padStart(9)}`,
    ...result.stages.map((s) => `${s.stage.padEnd(10)}${s.ms.toFixed(1).padStart(10)}${`${(s.share * 100).toFixed(1)}%`.padStart(9)}`),
  ];
  return `${lines.join('\n')}\n`;
}
