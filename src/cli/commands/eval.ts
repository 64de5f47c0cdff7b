/**
 * `pmg eval`: run methods on a dataset's samples, store every finished output and metric in
 * `<out>/run.sqlite` (resumable), and write report.md, report.html and results.csv.
 * `pmg eval --human-sheet --out DIR`: pairwise A/B pages for human evaluation from a finished run.
 * Everything cheap (flags, dataset, metric folders, the stored config) is checked before models load.
 */
import { commandSettings } from '../command-settings.js';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createProgress } from '../../core/progress.js';
import { PmgError } from '../../errors/pmg-error.js';
import { checkEvalMetrics, DEFAULT_EVAL_METRICS, EVAL_METRICS, EvalScorer, METRIC_MODEL_FOLDER } from '../../experiments/eval-metrics.js';
import { checkDataset, defaultProtocol, EVAL_DATASETS, loadEvalSamples, type EvalSampleSource } from '../../experiments/eval-samples.js';
import { removeOrphanTemporaries } from '../../core/atomic-write.js';
import { parsePairs, writeHumanSheets } from '../../experiments/human-sheet.js';
import { writeReport } from '../../experiments/report.js';
import { DEFAULT_EVAL_METHODS, EVAL_METHODS, type EvalConfig, type EvalMethod } from '../../experiments/run-config.js';
import { BullJobQueue } from '../../queue/bullmq-queue.js';
import type { GenerationUnit, WireResult } from '../../queue/generation-unit.js';
import { softMethods } from '../../personalize/personalize-request.js';
import { modelsFolderOf, openSoftBranch, softChoice, softCommandOptions } from '../soft-options.js';
import { softModuleRecord } from '../../soft/soft-module.js';
import { RUN_DB, RunStore } from '../../experiments/run-store.js';
import { runEval } from '../../experiments/runner.js';
import { METRICS } from '../../metrics/registry.js';
import { CLIP_FILES, loadPersonalizeModels, resolveModelSpecs, type PersonalizeModels } from '../../providers/model-set.js';
import { presetNames } from '../../providers/presets.js';
import { promptStyle, type PromptStyleName } from '../../personalize/prompt-styles.js';
import { captionerCommandOption, openCaptioner } from '../captioner-option.js';
import { decoderCommandOptions } from '../decoder-options.js';
import { generationModelFlags } from '../generation-model-flags.js';
import { checkOutputFolder } from '../output-paths.js';
import { booleanOption, stringOption, type Command, type CommandContext } from '../command.js';
import { keywordCacheChoice, keywordCacheOptions, llmCommandOptions, openChosenKeywordCache } from '../llm-options.js';
import { memoryCommandOptions, memoryOptions, verboseSink } from '../memory-options.js';
import { intOption } from '../option-values.js';
import { modelStoreForCommand } from '../store-from-context.js';
import { evalQueueOptions, queueChoice, queuedGenerate } from '../eval-queue-options.js';
import { localFingerprint } from '../../queue/model-fingerprint.js';

const DEFAULT_ALPHAS = '0.5,0.67,0.8';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate target-only, keywords, soft and pmg on a dataset (resumable), write report.md/html and results.csv',
  usage:
    '--dataset movielens|pog|stickers|samples --data DIR [--posters DIR] --methods LIST --alpha LIST --limit N --out DIR | --human-sheet --out DIR [--pairs A:B]',
  options: {
    dataset: { type: 'string', value: 'NAME', description: `dataset: ${EVAL_DATASETS.join(', ')}` },
    data: {
      type: 'string',
      value: 'DIR',
      description: "folder of the dataset files (samples: a folder with samples.jsonl, e.g. from 'pmg rec plan', or a .jsonl file)",
    },
    posters: { type: 'string', value: 'DIR', description: 'MovieLens: folder of <movieId>.jpg|png posters (needed for the image metrics)' },
    images: { type: 'string', value: 'DIR', description: 'POG: folder of <itemId>.jpg|png images (default: <data>/images)' },
    protocol: { type: 'string', value: 'NAME', description: 'official or window (default: official; stickers: window)' },
    split: { type: 'string', value: 'NAME', description: 'window protocol: train, val or test part of the 8:1:1 split' },
    limit: { type: 'string', value: 'N', description: 'evaluate at most N samples', default: '50' },
    methods: {
      type: 'string',
      value: 'LIST',
      description: `comma-separated: ${EVAL_METHODS.join(', ')} (soft needs --soft)`,
      default: DEFAULT_EVAL_METHODS.join(','),
    },
    ...softCommandOptions,
    alpha: { type: 'string', value: 'LIST', description: 'α values of pmg, z = α·log d_p + (1−α)·log d_t', default: DEFAULT_ALPHAS },
    metrics: { type: 'string', value: 'LIST', description: `comma-separated: ${EVAL_METRICS.join(', ')}`, default: DEFAULT_EVAL_METRICS.join(',') },
    'metrics-models': { type: 'string', value: 'DIR', description: "folder with lpips/, clip/ (dino/) networks, as 'pmg models fixtures' writes it" },
    models: { type: 'string', value: 'DIR|PRESET', description: `generation models: a folder with llm/, clip/, sd/ or a preset: ${presetNames.join(', ')}` },
    generator: {
      type: 'string',
      value: 'SPEC',
      description:
        "a remote image generator for the diffusion stage: a1111:http://host:port or comfyui:http://host:port[#ckpt=FILE]; keywords and scoring stay here; with --queue the workers' --generator (docs/remote-generators.md)",
    },
    ...decoderCommandOptions,
    ...llmCommandOptions,
    ...captionerCommandOption,
    'prompt-style': {
      type: 'string',
      value: 'STYLE',
      description: "official (the authors' negative prompts and sticker prefix) or pmg (pmg's own); default: the preset's (paper: official), else pmg",
    },
    steps: { type: 'string', value: 'N', description: "denoising steps (default: the preset's)" },
    size: { type: 'string', value: 'PX', description: "output side in pixels, a multiple of 8 (default: the preset's)" },
    seed: { type: 'string', value: 'S', description: 'seed of the noise (the same for every sample and method) and of the protocol', default: '0' },
    ...memoryCommandOptions,
    out: { type: 'string', short: 'o', value: 'DIR', description: 'run folder: run.sqlite, images/, report.md, report.html, results.csv' },
    'human-sheet': { type: 'boolean', description: 'write pairwise A/B pages (HTML + key.csv) from the run in --out' },
    pairs: { type: 'string', value: 'A:B,...', description: 'human sheet pairs, e.g. pmg:target-only or pmg@0.8:keywords', default: 'pmg:target-only' },
    ...keywordCacheOptions,
    ...evalQueueOptions,
  },
  details: [
    'Examples:',
    '  pmg eval --dataset movielens --data ml-latest-small --posters posters/ --limit 50 --metrics-models ./metric-nets --out runs/ml50',
    '  pmg models fixtures fx && pmg eval --dataset movielens --data ml --posters p --models fx --metrics-models fx --steps 2 --size 64 --limit 5 --out runs/tiny',
    '  pmg eval --human-sheet --out runs/ml50 --pairs pmg:target-only,pmg:keywords',
    'A killed run continues where it stopped when started again with the same flags and --out (another config is refused).',
    "Samples files (--dataset samples): one sample object a line, e.g. every row of a recommendation experiment from 'pmg rec plan' (docs/rec.md);",
    '  they have no reference images, so use --metrics clip-t:',
    '  pmg eval --dataset samples --data plan --methods pmg,target-only --metrics clip-t --limit 1837 --models fx --metrics-models fx --out run',
    'The paper\'s "keywords vs embeddings vs both" ablation: --methods target-only,keywords,soft,pmg --soft DIR (the soft rows are target +',
    "soft tokens, the pmg rows keywords + soft tokens, labelled pmg+soft; each sample's soft tokens are computed once; docs/soft.md).",
    '  pmg models fixtures fx && pmg eval --dataset movielens --data ml --posters p --models fx --metrics-models fx --steps 2 --size 64 --limit 5 --methods target-only,keywords,soft,pmg --soft fx/soft --out runs/ablation',
    'Metric networks: lpips needs <metrics-models>/lpips (see src/metrics/README.md to convert real weights); clip-i/clip-t use',
    `<metrics-models>/clip, else ${METRICS['clip-i'].defaultModel} from the model store; dino needs <metrics-models>/dino.`,
    'Scale out (docs/scale-out.md): --queue redis://HOST:PORT enqueues each (sample, method) generation for `pmg worker` processes and',
    'scores the results here as they arrive; a generation failing --attempts times is recorded as failed and the run goes on.',
    '  pmg worker --queue redis://127.0.0.1:6379 --models fx &  pmg eval ... --models fx --queue redis://127.0.0.1:6379 --out runs/q',
  ].join('\n'),
  async run(context) {
    return booleanOption(context, 'human-sheet') ? humanSheet(context) : evaluate(context);
  },
};

function outDir(context: CommandContext): string {
  const text = stringOption(context, 'out');
  if (!text) throw new PmgError('invalid-argument', 'missing --out DIR (the run folder, e.g. runs/NAME)');
  const out = resolve(context.io.cwd, text);
  checkOutputFolder(out, '--out');
  return out;
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function folderFlag(context: CommandContext, name: string): string | undefined {
  const raw = stringOption(context, name);
  if (raw === undefined) return undefined;
  const dir = resolve(context.io.cwd, raw);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new PmgError('file-not-found', `--${name} folder ${dir} does not exist`, { details: { dir } });
  return dir;
}

export function parseMethods(text: string): EvalMethod[] {
  const methods: EvalMethod[] = [];
  for (const name of list(text)) {
    if (!(EVAL_METHODS as readonly string[]).includes(name))
      throw new PmgError('invalid-argument', `unknown method '${name}' in --methods; use ${EVAL_METHODS.join(', ')}`);
    if (!methods.includes(name as EvalMethod)) methods.push(name as EvalMethod);
  }
  if (!methods.length) throw new PmgError('invalid-argument', `--methods is empty; use some of ${EVAL_METHODS.join(', ')}`);
  return methods;
}

export function parseAlphas(text: string): number[] {
  const values = list(text).map((part) => {
    const value = Number(part);
    if (part === '' || !Number.isFinite(value) || value < 0 || value > 1)
      throw new PmgError('invalid-argument', `--alpha: '${part}' is not a number between 0 and 1`);
    return value;
  });
  if (!values.length) throw new PmgError('invalid-argument', '--alpha is empty; give α values like 0.5,0.67,0.8');
  return [...new Set(values)].sort((a, b) => a - b);
}

async function evaluate(context: CommandContext): Promise<number> {
  const { io } = context;
  // 1. Flags.
  const datasetText = stringOption(context, 'dataset');
  if (!datasetText) throw new PmgError('invalid-argument', `missing --dataset (one of ${EVAL_DATASETS.join(', ')})`);
  const dataset = checkDataset(datasetText);
  const dataText = stringOption(context, 'data');
  if (!dataText) throw new PmgError('invalid-argument', '--data DIR is required (the folder of the dataset files)');
  const data = resolve(io.cwd, dataText);
  const out = outDir(context);
  const methods = parseMethods(stringOption(context, 'methods') ?? DEFAULT_EVAL_METHODS.join(','));
  const alphas = methods.includes('pmg') ? parseAlphas(stringOption(context, 'alpha') ?? DEFAULT_ALPHAS) : [];
  const metrics = checkEvalMetrics(list(stringOption(context, 'metrics') ?? DEFAULT_EVAL_METRICS.join(',')));
  const limit = intOption(context, 'limit', { min: 1, fallback: 50 });
  const seed = intOption(context, 'seed', { min: 0, fallback: 0 });
  const steps = intOption(context, 'steps', { min: 1 });
  const size = intOption(context, 'size', { min: 8 });
  const style = stringOption(context, 'prompt-style');
  if (style !== undefined) promptStyle(style, '--prompt-style');
  if (size !== undefined && size % 8 !== 0) throw new PmgError('invalid-argument', `--size must be a multiple of 8, got ${size}`);
  const metricsModels = folderFlag(context, 'metrics-models');
  const posters = stringOption(context, 'posters');
  const images = stringOption(context, 'images');
  const cacheChoice = keywordCacheChoice(context);
  const memory = memoryOptions(context);
  const info = verboseSink(context);
  const { spec: modelSpec, modelsText, models, llm, decoders, generator } = generationModelFlags(context);
  const decoder = decoders.decoder;
  const queue = queueChoice(context);
  // The model and decoder choice, checked before anything loads; with --queue a models folder only the workers have
  // is allowed (the run then takes the first result's model fingerprint).
  const fingerprint = queue ? localFingerprint(modelSpec, io.cwd) : undefined;
  if (!queue) resolveModelSpecs(modelSpec, io.cwd);
  else if (fingerprint === undefined)
    io.stderr.write(`pmg: note: --models ${modelsText} is not a folder here; the run takes the model fingerprint of the first worker result\n`);
  if (generator && stringOption(context, 'soft') !== undefined)
    throw new PmgError(
      'invalid-argument',
      `soft: the image generator ${generator} cannot take soft preference tokens; use another method than soft (e.g. pmg)`,
      {
        details: { field: 'soft' },
      },
    );
  if (generator && decoders.finalDecoder !== undefined && decoders.finalDecoder !== 'vae')
    throw new PmgError('invalid-argument', `finalDecoder: the image generator ${generator} cannot decode with ${decoders.finalDecoder}; use vae`, {
      details: { field: 'finalDecoder' },
    });
  const soft = softChoice(context, modelsFolderOf(context, modelsText));
  if (methods.includes('soft') && !soft) throw new PmgError('invalid-argument', '--methods soft needs --soft DIR (a soft module)');
  if (soft && !methods.some((m) => softMethods.includes(m)))
    throw new PmgError('invalid-argument', `--soft is used by the methods ${softMethods.join(' and ')}; add one of them to --methods`);
  if (queue && soft)
    throw new PmgError(
      'invalid-argument',
      '--queue cannot carry --soft yet (the soft module would have to live with the workers); run soft methods without --queue',
    );
  if (queue && stringOption(context, 'captioner') !== undefined)
    throw new PmgError('invalid-argument', '--queue cannot carry --captioner yet (workers caption nothing); run without --queue, or give history items titles');

  // 2. Metric networks (folders checked now; hub CLIP resolved by the store later).
  const folders: Partial<Record<'lpips' | 'clip' | 'dino', string>> = {};
  for (const metric of metrics) {
    const folder = METRIC_MODEL_FOLDER[metric];
    if (!folder || folders[folder]) continue;
    const candidate = metricsModels ? join(metricsModels, folder) : undefined;
    if (candidate && existsSync(candidate)) folders[folder] = candidate;
    else if (folder !== 'clip') {
      throw new PmgError(
        'invalid-argument',
        `metric '${metric}' needs a ${folder} network: pass --metrics-models DIR with a ${folder}/ folder (e.g. from 'pmg models fixtures DIR'), or leave ${metric} out of --metrics`,
      );
    }
  }

  // 3. Samples, then the run store (config check) — still before any model loads.
  const split = stringOption(context, 'split');
  const source: EvalSampleSource = {
    dataset,
    data,
    ...(posters !== undefined ? { posters: resolve(io.cwd, posters) } : {}),
    ...(images !== undefined ? { images: resolve(io.cwd, images) } : {}),
    protocol: stringOption(context, 'protocol') ?? defaultProtocol(dataset),
    ...(split ? { split } : {}),
    limit,
  };
  const sampleSet = await loadEvalSamples({ ...source, seed });
  const config: EvalConfig = {
    ...source,
    sampleSeed: seed,
    methods,
    alphas,
    metrics,
    seed,
    ...(steps !== undefined ? { steps } : {}),
    ...(size !== undefined ? { size } : {}),
    ...(style !== undefined ? { promptStyle: style as PromptStyleName } : {}),
    ...(decoders.finalDecoder ? { finalDecoder: decoders.finalDecoder } : {}),
    ...(memory.vaeTiling && memory.vaeTiling !== 'auto' ? { vaeTiling: memory.vaeTiling } : {}),
    models: {
      ...(models ? { models } : {}),
      ...(llm.llm ? { llm: llm.llm } : {}),
      ...(llm.llmModel ? { llmModel: llm.llmModel } : {}),
      ...(decoder !== undefined ? { decoder } : {}),
      ...(generator ? { generator } : {}),
      ...(metricsModels ? { metricsModels } : {}),
    },
    ...(soft
      ? {
          soft: {
            ...softModuleRecord(soft.module),
            weight: soft.weight,
            llmBody: soft.bodySpec,
            ...(soft.allowLlmMismatch ? { allowLlmMismatch: true } : {}),
          },
        }
      : {}),
  };
  const existed = existsSync(out);
  const fresh = !existsSync(join(out, RUN_DB));
  const store = RunStore.open(out, config);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  let modelSet: PersonalizeModels | undefined;
  let jobQueue: BullJobQueue<GenerationUnit, WireResult> | undefined;
  const cache = openChosenKeywordCache(cacheChoice, commandSettings(context, { config: true }));
  let captioner: Awaited<ReturnType<typeof openCaptioner>> | undefined;
  let softBranch: Awaited<ReturnType<typeof openSoftBranch>> | undefined;
  try {
    // 4. Models and metric networks.
    const modelStore = modelStoreForCommand(context);
    if (metrics.some((m) => METRIC_MODEL_FOLDER[m] === 'clip') && !folders.clip) {
      folders.clip = (await modelStore.pull(METRICS['clip-i'].defaultModel!, { include: CLIP_FILES })).dir;
    }
    const warn = (message: string): void => void io.stderr.write(`pmg: warning: ${message}\n`);
    // With --queue the workers load the generation models; this process only scores.
    if (queue) jobQueue = await BullJobQueue.open<GenerationUnit, WireResult>(queue.target, undefined, { retry: queue.retry });
    else
      modelSet = await loadPersonalizeModels(modelSpec, {
        store: modelStore,
        settings: commandSettings(context, { config: true }),
        offline: context.globals.offline,
        warn,
      });
    const scorer = await EvalScorer.load(metrics, folders);
    captioner = await openCaptioner(context, io.cwd);
    softBranch = soft ? await openSoftBranch(soft, context, { cache: cacheChoice }) : undefined;
    // 5. The run, then the report.
    const summary = await runEval({
      store,
      outDir: out,
      samples: sampleSet.samples,
      skipped: sampleSet.skipped,
      ...(modelSet ? { models: modelSet } : {}),
      ...(jobQueue ? { generate: queuedGenerate(jobQueue, out, config, store, fingerprint), parallel: queue!.inFlight } : {}),
      scorer,
      progress: createProgress({ stream: io.stderr }),
      signal: controller.signal,
      memory,
      ...(info ? { info } : {}),
      ...(cache ? { keywordCache: cache } : {}),
      ...(captioner.captionImage ? { captioner: captioner.captionImage } : {}),
      ...(softBranch ? { soft: softBranch.request } : {}),
    });
    const files = await writeReport(store, out);
    const skipped =
      Object.entries(summary.skipped)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ') || 'none';
    io.stdout.write(
      `${summary.samples} sample(s) evaluated (${summary.alreadyDone} from an earlier start, ${summary.personalizeCalls} generation call(s) now); skipped: ${skipped}\n`,
    );
    if (summary.failed)
      io.stdout.write(`${summary.failed} generation(s) failed after every attempt (listed in the report); run the same command again to retry them\n`);
    if (softBranch) io.stdout.write(`soft tokens: ${summary.soft.computed} computed with the LLM body, ${summary.soft.reused} taken from the cache\n`);
    io.stdout.write(`report: ${files.html}\nreport: ${files.markdown}\nresults: ${files.csv}\n`);
    return 0;
  } catch (error) {
    // A run that finished nothing leaves nothing behind; otherwise run.sqlite keeps what finished, to resume.
    if (fresh && store.finished().size === 0) {
      store.close();
      if (!existed) rmSync(out, { recursive: true, force: true });
      else for (const suffix of ['', '-wal', '-shm']) rmSync(join(out, RUN_DB + suffix), { force: true });
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', onSignal);
    cache?.close();
    await captioner?.close();
    await softBranch?.close();
    try {
      store.close();
    } catch {
      // already closed
    }
    await modelSet?.close();
    await jobQueue?.close();
  }
}

async function humanSheet(context: CommandContext): Promise<number> {
  const out = outDir(context);
  for (const flag of ['dataset', 'data', 'posters', 'models']) {
    if (stringOption(context, flag) !== undefined)
      throw new PmgError('invalid-argument', `--${flag} is not used with --human-sheet (the run in --out has the data)`);
  }
  const store = RunStore.openExisting(out);
  try {
    await removeOrphanTemporaries(join(out, 'human'));
    const pairs = parsePairs(stringOption(context, 'pairs') ?? 'pmg:target-only', store.config.methods, store.config.alphas);
    const sheets = await writeHumanSheets(store, out, pairs, intOption(context, 'seed', { min: 0, fallback: 0 }));
    for (const sheet of sheets) context.io.stdout.write(`${sheet.questions} question(s): ${sheet.html}\nkey: ${sheet.key}\n`);
    return 0;
  } finally {
    store.close();
  }
}
