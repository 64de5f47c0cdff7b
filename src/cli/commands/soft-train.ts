/**
 * `pmg soft train`: train a soft module with the generator's denoising loss (training/trainer.ts; docs/training.md):
 * `--train full` (default: prefix + multimodal tokens + map, gradients through the UNet and the LLM body, both as
 * ONNX gradient graphs from src/autodiff/ run by onnxruntime), `--no-prefix` / `--no-tokens` ablations, `--train map`
 * (map only, LLM states cached), and `--objective text-fit` (a closed-form ridge fit in the text encoder's space,
 * training/text-fit.ts: labelled a text-space fit everywhere, not the diffusion-loss branch).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openGradientSession } from '../../autodiff/gradient-session.js';
import { createProgress } from '../../core/progress.js';
import { PmgError } from '../../errors/pmg-error.js';
import { encodePrompt } from '../../pipeline/prompt-encoding.js';
import { loadPrompts } from '../../personalize/prompts.js';
import { loadStableDiffusion } from '../../providers/image/onnx-stable-diffusion.js';
import { loadLlmBody } from '../../runtime/llm-body.js';
import { fitSoftPrompt, softPositionStates } from '../../soft/soft-embeddings.js';
import { checkSoftGenerator, checkSoftLlm, checkSoftScene } from '../../soft/soft-fit.js';
import { readSoftModule, writeSoftModule } from '../../soft/soft-module.js';
import { checkLrSchedule } from '../../training/lr-schedule.js';
import { trainNoiseSchedule } from '../../training/noising.js';
import { textFitTargets, ridgeMap } from '../../training/text-fit.js';
import { trainSoftModule, validationLoss, type LogLine, type PreparedSample, type TrainSettings } from '../../training/trainer.js';
import { lazySampleList } from '../../training/sample-list.js';
import { loadTrainSamples } from '../../training/training-samples.js';
import { openVaeEncoder } from '../../training/vae-encoding.js';
import { booleanOption, stringOption, type Command } from '../command.js';
import { intOption, numberOption } from '../option-values.js';
import { modelStoreForCommand } from '../store-from-context.js';
import { storeResolver } from './txt2img.js';
import { lineChartSvg, SERIES_COLORS } from '../../experiments/chart-svg.js';
import { escapeHtml } from '../../web/demo-page.js';

const sceneOf = { movielens: 'movie', pog: 'fashion', stickers: 'sticker' } as const;
/** Training samples kept prepared at once (sample-list.ts): about 0.4 MB each for SD 1.x at 512 px, more with a large LLM's rows. */
const TRAIN_SAMPLES_KEPT = 256;
const RUN_FILES = ['soft', 'log.jsonl', 'checkpoint', 'report.html', '.checkpoint.tmp', '.checkpoint.old'];

export const softTrainCommand: Command = {
  name: 'soft train',
  summary: "train a soft module (prefix, multimodal tokens, map) with the generator's denoising loss on (history → target image) pairs",
  usage:
    '--dataset movielens|pog|stickers --data DIR --images DIR --llm DIR --sd DIR --soft INIT_DIR --out RUN_DIR [--train full|map] [--no-prefix] [--no-tokens] [--objective diffusion|text-fit] [--steps N]',
  options: {
    dataset: { type: 'string', value: 'NAME', description: 'movielens, pog or stickers (the eval protocols, 8:1:1 split)' },
    data: { type: 'string', value: 'DIR', description: 'the dataset folder' },
    images: { type: 'string', value: 'DIR', description: 'target images named by item id (<id>.png|jpg); samples without one are skipped and counted' },
    llm: { type: 'string', value: 'DIR', description: 'the LLM body the module was made for (float32 standard-op export for --train full)' },
    sd: { type: 'string', value: 'DIR', description: 'the generator (diffusers ONNX folder with vae_encoder/)' },
    soft: { type: 'string', value: 'DIR', description: 'the soft module to start from (pmg soft init)' },
    out: {
      type: 'string',
      short: 'o',
      value: 'RUN_DIR',
      description: 'the run folder: soft/, log.jsonl, checkpoint/, report.html; an existing run is resumed',
    },
    train: {
      type: 'string',
      value: 'full|map',
      description:
        'full: prefix + tokens + map, gradients through the UNet and the LLM body (the public recipe); map: the map only, LLM states computed once per sample',
      default: 'full',
    },
    'no-prefix': { type: 'boolean', description: '--train full ablation: keep the prefix frozen' },
    'no-tokens': { type: 'boolean', description: '--train full ablation: keep the multimodal tokens frozen' },
    objective: {
      type: 'string',
      value: 'NAME',
      description:
        "diffusion (the denoising loss) or text-fit (closed-form ridge fit of the map toward the text encoder's states of the target's words: a text-space fit, not the diffusion-loss branch)",
      default: 'diffusion',
    },
    ridge: { type: 'string', value: 'LAMBDA', description: 'text-fit: the ridge penalty', default: '1e-3' },
    steps: { type: 'string', value: 'N', description: 'optimiser steps (default: 3 epochs, the public recipe)' },
    lr: { type: 'string', value: 'LR', description: 'AdamW learning rate', default: '5e-6' },
    'weight-decay': { type: 'string', value: 'W', description: 'AdamW decoupled weight decay', default: '0.01' },
    batch: { type: 'string', value: 'B', description: 'samples per micro-batch', default: '6' },
    accumulation: { type: 'string', value: 'K', description: 'micro-batches per optimiser step', default: '4' },
    schedule: { type: 'string', value: 'KIND', description: 'learning-rate schedule: constant, linear or cosine', default: 'constant' },
    warmup: { type: 'string', value: 'N', description: 'warm-up optimiser steps', default: '0' },
    'max-grad-norm': { type: 'string', value: 'X', description: 'clip gradients to this global norm (0: off)', default: '1' },
    seed: { type: 'string', value: 'S', description: 'seed of the split, the sample order and every draw', default: '0' },
    'val-every': { type: 'string', value: 'N', description: 'validation loss every N steps (0: off)', default: '10' },
    'val-samples': { type: 'string', value: 'N', description: 'validation samples used', default: '8' },
    'checkpoint-every': { type: 'string', value: 'K', description: 'checkpoint every K steps', default: '10' },
    resolution: { type: 'string', value: 'PX', description: 'training image side', default: '512' },
    protocol: { type: 'string', value: 'NAME', description: 'the dataset protocol (one with the 8:1:1 split)', default: 'window' },
    limit: { type: 'string', value: 'N', description: 'at most N training samples' },
    device: {
      type: 'string',
      value: 'cpu|cuda',
      description: 'execution provider of every session, gradient graphs included (cuda: onnxruntime-node with the CUDA provider installed)',
      default: 'cpu',
    },
    threads: { type: 'string', value: 'N', description: 'onnxruntime intra-op threads (default: all cores)' },
    'checkpoint-segments': {
      type: 'string',
      value: 'S',
      description:
        'gradient graphs keep forward activations only at S − 1 segment boundaries and recompute the rest in the backward (less memory, one more partial forward; same gradients)',
      default: '1',
    },
  },
  details:
    'Gradients: reverse-mode gradient graphs of the frozen UNet and LLM body in standard ONNX ops, run by onnxruntime (src/autodiff/); see docs/training.md.',
  async run(context) {
    const need = (name: string): string => {
      const value = stringOption(context, name);
      if (!value) throw new PmgError('invalid-argument', `missing --${name} (pmg soft train --help lists the flags)`);
      return resolve(context.io.cwd, value);
    };
    const dataset = stringOption(context, 'dataset') ?? '';
    if (!(dataset in sceneOf)) throw new PmgError('invalid-argument', `--dataset '${dataset}': use movielens, pog or stickers`);
    const [data, images, llm, sd, softDir, out] = ['data', 'images', 'llm', 'sd', 'soft', 'out'].map(need) as [string, string, string, string, string, string];
    if (!existsSync(images))
      throw new PmgError('file-not-found', `--images ${images} does not exist; give the folder of target images named <item id>.png|jpg`);
    const train = stringOption(context, 'train') ?? 'full';
    if (train !== 'map' && train !== 'full') throw new PmgError('invalid-argument', `--train '${train}': use full or map`);
    const noPrefix = booleanOption(context, 'no-prefix');
    const noTokens = booleanOption(context, 'no-tokens');
    if (train === 'map' && (noPrefix || noTokens))
      throw new PmgError(
        'invalid-argument',
        `--${noPrefix ? 'no-prefix' : 'no-tokens'} is an ablation of --train full; --train map trains the map only already`,
      );
    const objective = stringOption(context, 'objective') ?? 'diffusion';
    if (objective !== 'diffusion' && objective !== 'text-fit') throw new PmgError('invalid-argument', `--objective '${objective}': use diffusion or text-fit`);
    const device = stringOption(context, 'device') ?? 'cpu';
    if (device !== 'cpu' && device !== 'cuda') throw new PmgError('invalid-argument', `--device must be cpu or cuda, got '${device}'`);
    const threads = intOption(context, 'threads', { min: 1 });
    const checkpointSegments = intOption(context, 'checkpoint-segments', { min: 1, max: 64, fallback: 1 });
    const ridge = numberOption(context, 'ridge', 1e-3);
    if (!(ridge > 0)) throw new PmgError('invalid-argument', `--ridge must be a number > 0, got ${ridge}`);
    const seed = intOption(context, 'seed', { min: 0, fallback: 0 });
    const batch = intOption(context, 'batch', { min: 1, fallback: 6 });
    const accumulation = intOption(context, 'accumulation', { min: 1, fallback: 4 });
    const lr = numberOption(context, 'lr', 5e-6);
    if (!(lr > 0)) throw new PmgError('invalid-argument', `--lr must be a number > 0, got ${lr}`);
    const weightDecay = numberOption(context, 'weight-decay', 0.01);
    if (!(weightDecay >= 0)) throw new PmgError('invalid-argument', `--weight-decay must be a number >= 0, got ${weightDecay}`);
    const maxGradNorm = numberOption(context, 'max-grad-norm', 1);
    if (!(maxGradNorm >= 0)) throw new PmgError('invalid-argument', `--max-grad-norm must be a number >= 0 (0: off), got ${maxGradNorm}`);
    const schedule = checkLrSchedule(stringOption(context, 'schedule') ?? 'constant');
    const resolution = intOption(context, 'resolution', { min: 64, fallback: 512 });
    if (resolution % 64 !== 0) throw new PmgError('invalid-argument', `--resolution ${resolution}: use a multiple of 64`);
    if (existsSync(out) && readdirSync(out).some((f) => !RUN_FILES.includes(f))) {
      throw new PmgError('invalid-argument', `--out ${out} holds files that are not a training run; give a new folder or an earlier run to resume`);
    }
    const module = readSoftModule(softDir);
    checkSoftScene(module, sceneOf[dataset as keyof typeof sceneOf]);
    const samples = await loadTrainSamples({
      dataset,
      data,
      images,
      seed,
      protocol: stringOption(context, 'protocol') ?? 'window',
      valLimit: intOption(context, 'val-samples', { min: 0, fallback: 8 }),
      ...(stringOption(context, 'limit') ? { limit: intOption(context, 'limit', { min: 1, fallback: 1 }) } : {}),
    });
    const steps = intOption(context, 'steps', { min: 1, fallback: Math.max(1, Math.ceil((3 * samples.train.length) / (batch * accumulation))) });
    const settings: TrainSettings = {
      train,
      noPrefix,
      noTokens,
      lr,
      weightDecay,
      batch,
      accumulation,
      steps,
      schedule,
      warmup: intOption(context, 'warmup', { min: 0, fallback: 0 }),
      maxGradNorm,
      seed,
      valEvery: intOption(context, 'val-every', { min: 0, fallback: 10 }),
      checkpointEvery: intOption(context, 'checkpoint-every', { min: 1, fallback: 10 }),
      resolution,
    };
    const store = modelStoreForCommand(context);
    const sessionOptions = { device, ...(threads ? { threads } : {}) } as const;
    const body = await loadLlmBody(llm, { store, ...sessionOptions });
    const model = await loadStableDiffusion(sd, { resolve: storeResolver(store), fuseAttention: false, ...sessionOptions });
    checkSoftLlm(module, body);
    checkSoftGenerator(module, model.textEncoder.hiddenSize, sd);
    const vae = await openVaeEncoder(model.dir, settings.resolution, sessionOptions);
    try {
      const prompts = loadPrompts();
      const full = train === 'full' && objective === 'diffusion';
      // Samples whose history was cut to its most recent items to fit the LLM's positions (said at the end).
      const cutHistories = new Set<string>();
      const prepare = async (s: (typeof samples.train)[number]): Promise<PreparedSample> => {
        const { ids, omitted } = await fitSoftPrompt(body, module, s.sample.scene, s.sample.history, prompts);
        if (omitted > 0) cutHistories.add(s.sample.id);
        return {
          id: s.sample.id,
          targetStates: await encodePrompt(model.textEncoder, s.targetText),
          ...(full ? { promptEmbeds: body.embed(ids).data } : { softStates: await softPositionStates(body, module, ids) }),
          posterior: await vae.encode(s.image),
          targetTokens: Math.min(model.textEncoder.tokenize(s.targetText).length, model.textEncoder.maxLength - 2) + 2,
        };
      };
      // Prepared when a step first reads them (sample-list.ts); the few validation samples stay prepared.
      const prepared = { train: lazySampleList(samples.train, prepare, TRAIN_SAMPLES_KEPT), val: lazySampleList(samples.val, prepare, samples.val.length) };
      const skipped = Object.entries(samples.skipped)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      const label =
        objective === 'text-fit'
          ? 'text-fit (closed-form ridge in the text encoder space; not the diffusion loss)'
          : full
            ? `full (${module.config.P === 0 ? 'no prefix (P = 0)' : `prefix${noPrefix ? ' frozen' : ''}`} + tokens${noTokens ? ' frozen' : ''} + map; gradients through the UNet and the LLM body)`
            : 'map (LLM states cached)';
      context.io.stderr.write(
        `pmg: ${prepared.train.length} training and ${prepared.val.length} validation samples${skipped ? `; skipped: ${skipped}` : ''}; variant: ${label}\n`,
      );
      const lossContext = {
        shape: module.config,
        tensors: module.tensors,
        unet: model.unet,
        noise: trainNoiseSchedule(model.schedulerConfig),
        scalingFactor: vae.scalingFactor,
        ...(full ? { body } : {}),
      };
      if (objective === 'text-fit') {
        const rows: Pick<PreparedSample, 'softStates' | 'targetStates' | 'targetTokens'>[] = [];
        const task = createProgress({ stream: context.io.stderr }).start('text-fit samples', prepared.train.length, 'items');
        for (let i = 0; i < prepared.train.length; i++) {
          const { softStates, targetStates, targetTokens } = await prepared.train.get(i);
          rows.push({ softStates, targetStates, ...(targetTokens !== undefined ? { targetTokens } : {}) });
          task.update(i + 1);
        }
        task.finish();
        const { states, targets, count } = textFitTargets(rows, module.config.N);
        const fit = ridgeMap(states, targets, count, ridge);
        const tensors = { ...module.tensors, mapWeight: fit.weight, mapBias: fit.bias };
        mkdirSync(out, { recursive: true });
        const valLoss = prepared.val.length
          ? await validationLoss({ ...lossContext, val: prepared.val, settings }, { 'map.weight': fit.weight, 'map.bias': fit.bias })
          : undefined;
        const log: LogLine[] = [{ step: 0, objective: 'text-fit', ridge, ...(valLoss !== undefined ? { valLoss } : {}), seconds: 0 }];
        writeFileSync(join(out, 'log.jsonl'), log.map((l) => `${JSON.stringify(l)}\n`).join(''));
        const written = writeSoftModule(
          join(out, 'soft'),
          { ...module.config, trainedWith: 'pmg soft train (text-fit: ridge fit in text space, not the diffusion loss)' },
          tensors,
        );
        writeFileSync(join(out, 'report.html'), trainReportHtml(log, 'text-fit (a text-space ridge fit of the map, not the diffusion-loss branch)'));
        if (cutHistories.size > 0)
          context.io.stderr.write(
            `pmg: ${cutHistories.size} sample(s) had histories longer than the LLM body's ${body.config.maxPositions} positions allow; their oldest items were left out\n`,
          );
        context.io.stdout.write(
          `text-fit (text-space ridge fit of the map, not the diffusion loss) on ${count} rows; ${valLoss !== undefined ? `validation denoising loss ${valLoss.toFixed(5)}; ` : ''}module ${written.source}\n`,
        );
        return 0;
      }
      const result = await trainSoftModule({
        settings,
        runDir: out,
        ...lossContext,
        ...prepared,
        unetPath: join(model.dir, 'unet', 'model.onnx'),
        gradients: (path, options) => openGradientSession(path, { ...options, checkpointSegments, ...sessionOptions }),
        progress: createProgress({ stream: context.io.stderr }),
      });
      const trainedWith = full
        ? `pmg soft train (full${noPrefix ? ', prefix frozen' : ''}${noTokens ? ', tokens frozen' : ''}, diffusion loss)`
        : 'pmg soft train (map, diffusion loss)';
      const written = writeSoftModule(join(out, 'soft'), { ...module.config, trainedWith }, result.tensors);
      writeFileSync(join(out, 'report.html'), trainReportHtml(result.log, label));
      const last = result.log.filter((l) => l.valLoss !== undefined).at(-1);
      if (cutHistories.size > 0)
        context.io.stderr.write(
          `pmg: ${cutHistories.size} sample(s) had histories longer than the LLM body's ${body.config.maxPositions} positions allow; their oldest items were left out\n`,
        );
      context.io.stdout.write(
        `trained ${steps} steps (${label})${result.resumedFrom ? ` (resumed at step ${result.resumedFrom})` : ''}; ${last ? `validation loss ${last.valLoss!.toFixed(5)}; ` : ''}module ${written.source}\n`,
      );
      return 0;
    } finally {
      await vae.close();
      await body.close?.();
    }
  },
};

/** RUN_DIR/report.html: the training and validation loss curves. */
function trainReportHtml(log: readonly LogLine[], variant: string): string {
  const series = [
    { name: 'training loss', points: log.filter((l) => l.loss !== undefined).map((l) => ({ x: l.step, y: l.loss! })), color: SERIES_COLORS[0]!, line: true },
    {
      name: 'validation loss',
      points: log.filter((l) => l.valLoss !== undefined).map((l) => ({ x: l.step, y: l.valLoss! })),
      color: SERIES_COLORS[1]!,
      line: true,
    },
  ];
  return `<!doctype html><meta charset="utf-8"><title>pmg soft train</title><h1>Soft-branch training</h1><p>Variant: ${escapeHtml(variant)}</p>${lineChartSvg({ title: 'loss', xLabel: 'optimiser step', yLabel: 'MSE', series })}\n`;
}
