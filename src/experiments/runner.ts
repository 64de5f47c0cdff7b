/**
 * The eval loop (issue 6 section 3). For each sample, in protocol order, with the same seed for every method:
 *  1. keywords ONCE per sample: the first personalize call asks the LLM; its keywords are stored and passed
 *     to every later call (personalize's `keywords` input), so all methods and α values share them;
 *  2. each method: target-only (target keywords only), keywords (preference keywords at one fixed weight),
 *     soft (target keywords + the soft tokens of the run's soft module; computed once per sample and shared with pmg),
 *     pmg (every weight generated and scored once, with the soft tokens when the run has a soft module; for each α in the list the candidate with the largest
 *     z = α·log d_p + (1−α)·log d_t is chosen again from the stored d_p, d_t — the candidates do not depend on α);
 *  3. metrics of each output against the references (eval-metrics.ts);
 *  4. the method's rows are written in one transaction (run-store.ts) as soon as they are finished.
 * A resumed run skips every finished (sample, method, α) and calls personalize only for what is missing.
 */
import { join } from 'node:path';
import { readImageRgb, type RgbImage } from '../core/image-io.js';
import { silentProgress, type ProgressSink } from '../core/progress.js';
import { PmgError } from '../errors/pmg-error.js';
import type { KeywordCache } from '../personalize/keyword-cache.js';
import type { PersonalizeModels } from '../providers/model-set.js';
import type { CaptionImage } from '../personalize/verbalize.js';
import type { MemoryOptions } from '../pipeline/memory-plan.js';
import {
  personalize as defaultPersonalize,
  softMethods,
  type PersonalizeRequest,
  type PersonalizeResult,
  type SoftRequest,
} from '../personalize/personalize.js';
import { selectBest } from '../scoring/selection.js';
import type { Sample } from '../spec/behaviour.js';
import { removeOrphanTemporaries, writeFileAtomic } from '../core/atomic-write.js';
import { memorySoftCache } from '../soft/soft-cache.js';
import { targetText, type EvalReferences, type EvalScorer } from './eval-metrics.js';
import type { EvalMethod } from './run-config.js';
import { QueueJobFailed } from '../queue/job-queue.js';
import { resultKey, type ResultRow, type RunStore, type StoredKeywords, type StoredSample } from './run-store.js';

export { writeAtomic } from '../core/atomic-write.js';

export type PersonalizeFn = (models: PersonalizeModels, request: PersonalizeRequest) => Promise<PersonalizeResult>;

export interface EvalRunOptions {
  store: RunStore;
  /** The run folder (images go to `<outDir>/images/...`). */
  outDir: string;
  /** Samples in protocol order (the dataset's own skipped counts go in `skipped`). */
  samples: readonly Sample[];
  skipped?: Record<string, number>;
  /** The generation models; not needed when `generate` runs the generations elsewhere. */
  models?: PersonalizeModels;
  scorer: EvalScorer;
  /**
   * Runs a (sample, method) generation elsewhere (`pmg eval --queue`: a worker) instead of `personalize` here. A
   * `QueueJobFailed` it throws records the unit as failed with its reason and the run goes on.
   */
  generate?: (sampleId: string, method: EvalMethod, request: PersonalizeRequest) => Promise<PersonalizeResult>;
  /** Samples in flight at once (default 1: today's order; a queue keeps its workers busy with more). */
  parallel?: number;
  /** Injectable for tests (count calls) and benchmarks; default personalize(). */
  personalize?: PersonalizeFn;
  keywordCache?: KeywordCache;
  /** Captions history items that only have an image. */
  captioner?: CaptionImage;
  /** The soft branch of the run's `soft` config (module, LLM body, w_s, cache): the soft rows, and added to pmg's. */
  soft?: SoftRequest;
  progress?: ProgressSink;
  signal?: AbortSignal;
  /** Memory budget and VAE tiling of every generation (the run's `vaeTiling` overrides the tiling mode). */
  memory?: MemoryOptions;
  /** Verbose notes of the generations (memory plan). */
  info?: (message: string) => void;
  /** Called after each transaction (one method of one sample); a throw stops the run (tests simulate a kill). */
  onStored?: (rows: readonly ResultRow[]) => void | Promise<void>;
}

export interface EvalRunSummary {
  /** Samples with every row finished at the end. */
  samples: number;
  /** Samples that were already complete when the run started (resume). */
  alreadyDone: number;
  /** Dataset skips plus samples without the references the metrics need, by reason. */
  skipped: Record<string, number>;
  personalizeCalls: number;
  rowsWritten: number;
  /** Soft-token computations in this run: LLM passes made, and results taken from the cache (shared by soft and pmg). */
  soft: { computed: number; reused: number };
  /** (sample, method) units that failed on every queue attempt in this run (recorded in the store; a resume retries them). */
  failed: number;
}

/** Rows a sample needs: one per method, pmg one per α. */
export function plannedRows(methods: readonly EvalMethod[], alphas: readonly number[]): { method: EvalMethod; alpha: number | null }[] {
  return methods.flatMap<{ method: EvalMethod; alpha: number | null }>((method) =>
    method === 'pmg' ? alphas.map((alpha) => ({ method, alpha })) : [{ method, alpha: null }],
  );
}

/** A file-name-safe form of a sample id (e.g. 'movielens:user-12' → 'movielens_user-12'). */
export function sampleFolder(sampleId: string): string {
  return sampleId.replace(/[^A-Za-z0-9._-]+/g, '_');
}

export async function runEval(options: EvalRunOptions): Promise<EvalRunSummary> {
  const { store, scorer, models, signal } = options;
  const config = store.config;
  const local = options.personalize ?? defaultPersonalize;
  const call = (sampleId: string, method: EvalMethod, request: PersonalizeRequest): Promise<PersonalizeResult> => {
    if (options.generate) return options.generate(sampleId, method, request);
    if (!models) throw new PmgError('internal', 'runEval needs models or generate');
    return local(models, request);
  };
  const planned = plannedRows(config.methods, config.alphas);
  const needsImages = scorer.metrics.some((m) => m !== 'clip-t');
  if (config.methods.includes('soft') && !options.soft)
    throw new PmgError('invalid-argument', "soft is missing: method 'soft' needs a soft module", { details: { field: 'soft' } });
  // Without a cache, each sample's soft tokens are still computed once for all its methods.
  const soft = options.soft ? { ...options.soft, cache: options.soft.cache ?? memorySoftCache() } : undefined;
  const skipped: Record<string, number> = { ...(options.skipped ?? {}) };
  const usable: Sample[] = [];
  for (const sample of options.samples) {
    const reason = !needsImages ? undefined : sample.historyImages.length === 0 ? 'no-history-images' : !sample.targetImage ? 'no-target-image' : undefined;
    if (reason) skipped[reason] = (skipped[reason] ?? 0) + 1;
    else usable.push(sample);
  }
  store.setSkipped(skipped);
  // A killed run may have left half-written files (report.html.tmp-*, images/.../*.png.tmp-*): remove them.
  await removeOrphanTemporaries(options.outDir);
  if (usable.length === 0) {
    const reasons =
      Object.entries(skipped)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ') || 'the protocol built none';
    throw new PmgError(
      'invalid-argument',
      `no sample to evaluate (skipped: ${reasons}); the metrics need history and target images (e.g. a posters folder for MovieLens)`,
      { details: { skipped } },
    );
  }

  const finished = store.finished();
  const todo = usable.filter((s) => planned.some((p) => !finished.has(resultKey(s.id, p.method, p.alpha))));
  const summary: EvalRunSummary = {
    samples: 0,
    alreadyDone: usable.length - todo.length,
    skipped,
    personalizeCalls: 0,
    rowsWritten: 0,
    soft: { computed: 0, reused: 0 },
    failed: 0,
  };
  const task = (options.progress ?? silentProgress).start('eval', todo.length * config.methods.length, 'items');
  let done = 0;
  const positions = new Map(options.samples.map((s, i) => [s.id, i]));

  const evalSample = async (sample: Sample): Promise<void> => {
    const stored: StoredSample = {
      id: sample.id,
      user: sample.user,
      scene: sample.scene,
      position: positions.get(sample.id)!,
      ...(sample.target.item?.title ? { title: sample.target.item.title } : {}),
      historyImages: sample.historyImages,
      ...(sample.targetImage ? { targetImage: sample.targetImage } : {}),
      targetText: targetText(sample),
    };
    store.putSample(stored);
    const references: EvalReferences = {
      history: needsImages ? await Promise.all(sample.historyImages.map(readImageRgb)) : [],
      ...(needsImages && sample.targetImage ? { target: await readImageRgb(sample.targetImage) } : {}),
      targetText: stored.targetText,
    };
    let keywords = store.keywords(sample.id);
    let sampleFailed = false;
    for (const method of config.methods) {
      const missing = planned.filter((p) => p.method === method && !finished.has(resultKey(sample.id, p.method, p.alpha)));
      if (missing.length) {
        if (signal?.aborted) throw new PmgError('aborted', 'the eval run was stopped; run the same command again to continue where it stopped');
        let result: PersonalizeResult;
        try {
          result = await call(sample.id, method, {
            scene: sample.scene,
            history: sample.history,
            target: sample.target,
            method,
            ...(method === 'pmg' ? { alpha: missing[0]!.alpha! } : {}),
            ...(soft && softMethods.includes(method) ? { soft } : {}),
            seed: config.seed,
            ...(config.steps !== undefined ? { steps: config.steps } : {}),
            ...(config.size !== undefined ? { width: config.size, height: config.size } : {}),
            ...(keywords ? { keywords: { scene: sample.scene, ...keywords } } : {}),
            ...(config.promptStyle ? { promptStyle: config.promptStyle } : {}),
            ...(config.finalDecoder ? { finalDecoder: config.finalDecoder } : {}),
            keywordOptions: {
              ...(options.keywordCache ? { cache: options.keywordCache } : {}),
              ...(options.captioner ? { captioner: options.captioner } : {}),
            },
            ...(options.memory || config.vaeTiling ? { memory: { ...options.memory, ...(config.vaeTiling ? { vaeTiling: config.vaeTiling } : {}) } } : {}),
            ...(options.info ? { info: options.info } : {}),
            ...(signal ? { signal } : {}),
          });
        } catch (error) {
          if (!(error instanceof QueueJobFailed)) throw error;
          store.putFailure({ sampleId: sample.id, method, reason: error.reason, attempts: error.attempts });
          summary.failed++;
          sampleFailed = true;
          task.update(++done);
          continue;
        }
        summary.personalizeCalls++;
        if (result.soft) summary.soft[result.soft.cached ? 'reused' : 'computed']++;
        if (!keywords) {
          keywords = storedKeywords(result);
          store.putKeywords(sample.id, keywords);
        }
        const rows = await finishMethod(options.outDir, sample, method, missing, result, scorer, references);
        store.putResults(rows);
        summary.rowsWritten += rows.length;
        for (const row of rows) finished.add(resultKey(row.sampleId, row.method, row.alpha));
        await options.onStored?.(rows);
      }
      task.update(++done);
    }
    if (!sampleFailed) summary.samples++;
  };
  await inParallel(todo, Math.max(1, options.parallel ?? 1), evalSample);
  task.finish(`${todo.length} sample(s) evaluated, ${summary.alreadyDone} already done, ${summary.personalizeCalls} generation call(s)`);
  summary.samples += summary.alreadyDone;
  return summary;
}

/** Run `work` on every item, at most `limit` at once; the first error stops new work and is thrown after the rest settle. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw failure.error;
}

function storedKeywords(result: PersonalizeResult): StoredKeywords {
  const k = result.keywords;
  return { preference: [...k.preference], target: [...k.target], prompts: { ...k.prompts }, raw: { ...k.raw }, model: k.model, cached: k.cached };
}

async function finishMethod(
  outDir: string,
  sample: Sample,
  method: EvalMethod,
  missing: readonly { alpha: number | null }[],
  result: PersonalizeResult,
  scorer: EvalScorer,
  references: EvalReferences,
): Promise<ResultRow[]> {
  const folder = `images/${sampleFolder(sample.id)}`;
  const shared = { ...result.timings };
  const written = new Map<number, { image: string; metrics: Record<string, number>; ms: number }>();
  const output = async (index: number) => {
    const cached = written.get(index);
    if (cached) return { ...cached, ms: 0 };
    const candidate = result.candidates[index]!;
    const image = method === 'pmg' ? `${folder}/pmg-c${index}.png` : `${folder}/${method}.png`;
    await writeFileAtomic(join(outDir, image), candidate.png);
    const t0 = performance.now();
    const rgb: RgbImage = await readImageRgb(join(outDir, image));
    const metrics = await scorer.score(rgb, references);
    const entry = { image, metrics, ms: Math.round((performance.now() - t0) * 10) / 10 };
    written.set(index, entry);
    return entry;
  };
  const rows: ResultRow[] = [];
  for (const [n, { alpha }] of missing.entries()) {
    let chosen = result.chosen;
    let z: number | null = null;
    if (method === 'pmg') {
      const finishedIdx = result.candidates.map((_, i) => i).filter((i) => result.candidates[i]!.finished);
      const best = selectBest(
        finishedIdx.map((i) => result.candidates[i]!),
        alpha!,
      );
      chosen = finishedIdx[best.chosen]!;
      z = best.z[best.chosen]!;
    }
    const candidate = result.candidates[chosen]!;
    const out = await output(chosen);
    rows.push({
      sampleId: sample.id,
      method,
      alpha,
      image: out.image,
      candidate: chosen,
      weights: { ...candidate.weights },
      prompt: candidate.prompt,
      dp: candidate.dp,
      dt: candidate.dt,
      z,
      metrics: out.metrics,
      timings: { ...(n === 0 ? shared : {}), metrics: out.ms },
    });
  }
  return rows;
}
