/**
 * Benchmark of the soft preference stage (issue 11 §4): per user, the wall time of computing the soft tokens (soft
 * prompt → tokenize → embed → one LLM-body pass with the prefix → map; soft/soft-embeddings.ts) against extracting the
 * keywords (the preference and target prompts, greedy decoding; personalize/extract-keywords.ts), both without a
 * cache, and the soft stage again from the cache. Users: the demo sample's MovieLens users. On fixture models the
 * numbers say what the stages cost relative to each other on these graphs, nothing about quality.
 */
import { loadDemoSamples } from '../data/demo-sample.js';
import { extractKeywords } from '../personalize/extract-keywords.js';
import { loadPrompts } from '../personalize/prompts.js';
import { memorySoftCache } from '../soft/soft-cache.js';
import { computeSoftTokens } from '../soft/soft-embeddings.js';
import { checkSoftLlm } from '../soft/soft-fit.js';
import type { SoftModule } from '../soft/soft-module.js';
import type { LanguageModel } from '../spec/language-model.js';
import type { LlmBody } from '../spec/llm-body.js';
import { formatMachine, machineInfo, type MachineInfo } from './machine.js';
import { median } from './median.js';

export interface SoftBenchOptions {
  /** Timed repeats per user (medians). */
  repeats: number;
  /** How many of the demo sample's users (at most 3). */
  users: number;
}

export const SOFT_BENCH_DEFAULTS: SoftBenchOptions = { repeats: 5, users: 3 };

export interface SoftBenchRow {
  user: string;
  /** Items in the history, and tokens of the soft prompt the body read (plus P prefix and N tokens). */
  historyItems: number;
  promptTokens: number;
  /** Medians in ms. */
  keywordsMs: number;
  softMs: number;
  softCachedMs: number;
}

export interface SoftBenchResult {
  machine: MachineInfo;
  options: SoftBenchOptions;
  models: { llm: string; body: string; module: string; P: number; N: number };
  rows: SoftBenchRow[];
  /** Median over users of softMs / keywordsMs. */
  ratio: number;
}

export interface SoftBenchModels {
  llm: LanguageModel;
  body: LlmBody;
  module: SoftModule;
}

export async function benchSoft(
  models: SoftBenchModels,
  options: SoftBenchOptions,
  onProgress: (line: string) => void = () => undefined,
): Promise<SoftBenchResult> {
  checkSoftLlm(models.module, models.body);
  const prompts = loadPrompts();
  const samples = loadDemoSamples().slice(0, options.users);
  const rows: SoftBenchRow[] = [];
  const time = async (work: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    await work();
    return performance.now() - t0;
  };
  // One untimed pass of each stage first: sessions and code paths warm.
  const first = samples[0]!;
  await extractKeywords({ scene: first.scene, history: first.history, target: first.target, llm: models.llm, prompts });
  await computeSoftTokens({ scene: first.scene, history: first.history, module: models.module, body: models.body, prompts });
  for (const sample of samples) {
    const keywords: number[] = [];
    const soft: number[] = [];
    const cached: number[] = [];
    let promptTokens = 0;
    for (let r = 0; r < options.repeats; r++) {
      keywords.push(await time(() => extractKeywords({ scene: sample.scene, history: sample.history, target: sample.target, llm: models.llm, prompts })));
      const cache = memorySoftCache();
      const input = { scene: sample.scene, history: sample.history, module: models.module, body: models.body, prompts, cache };
      soft.push(await time(async () => void (promptTokens = (await computeSoftTokens(input)).promptTokens)));
      cached.push(await time(() => computeSoftTokens(input)));
    }
    const row = {
      user: sample.user,
      historyItems: sample.history.items.length,
      promptTokens,
      keywordsMs: median(keywords),
      softMs: median(soft),
      softCachedMs: median(cached),
    };
    onProgress(`user ${row.user}: keywords ${row.keywordsMs.toFixed(1)} ms, soft ${row.softMs.toFixed(1)} ms`);
    rows.push(row);
  }
  const c = models.module.config;
  return {
    machine: machineInfo(),
    options,
    models: { llm: models.llm.id, body: models.body.id, module: models.module.source, P: c.P, N: c.N },
    rows,
    ratio: median(rows.map((r) => r.softMs / r.keywordsMs)),
  };
}

export function formatSoftBench(result: SoftBenchResult, command: string): string {
  const lines = [
    `command: ${command}`,
    `machine: ${formatMachine(result.machine)}`,
    `models: keyword LLM ${result.models.llm}; LLM body ${result.models.body}; soft module ${result.models.module} (P ${result.models.P}, N ${result.models.N})`,
    `medians of ${result.options.repeats} repeat(s) per user, without a cache; soft cached = the same user again from the soft cache (memory)`,
    '',
    'user   items  soft prompt tokens   keywords ms   soft ms   soft/keywords   soft cached ms',
    ...result.rows.map(
      (r) =>
        `${r.user.padEnd(6)} ${String(r.historyItems).padStart(5)}  ${String(r.promptTokens).padStart(18)}   ${r.keywordsMs.toFixed(1).padStart(11)}   ${r.softMs.toFixed(1).padStart(7)}   ${(r.softMs / r.keywordsMs).toFixed(3).padStart(13)}   ${r.softCachedMs.toFixed(2).padStart(14)}`,
    ),
    '',
    `soft stage / keyword extraction, median over users: ${result.ratio.toFixed(3)}`,
    '',
  ];
  return lines.join('\n');
}
