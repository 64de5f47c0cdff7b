/**
 * `pmg soft train`: train a soft module's map with the generator's denoising loss (training/trainer.ts;
 * docs/training.md). Until the gradient graphs of src/autodiff/ are plugged in, gradients come from the
 * finite-difference stand-in (training/finite-difference-gradients.ts): exact in the limit, affordable on fixtures only.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createProgress } from '../../core/progress.js';
import { PmgError } from '../../errors/pmg-error.js';
import { encodePrompt } from '../../pipeline/prompt-encoding.js';
import { loadPrompts } from '../../personalize/prompts.js';
import { loadStableDiffusion } from '../../providers/image/onnx-stable-diffusion.js';
import { loadLlmBody } from '../../runtime/llm-body.js';
import { renderSoftPrompt, softPositionStates } from '../../soft/soft-embeddings.js';
import { checkSoftGenerator, checkSoftLlm, checkSoftScene } from '../../soft/soft-fit.js';
import { readSoftModule, writeSoftModule } from '../../soft/soft-module.js';
import { finiteDifferenceGradients } from '../../training/finite-difference-gradients.js';
import { checkLrSchedule } from '../../training/lr-schedule.js';
import { trainNoiseSchedule } from '../../training/noising.js';
import { trainSoftMap, type LogLine, type PreparedSample, type TrainSettings } from '../../training/trainer.js';
import { loadTrainSamples } from '../../training/training-samples.js';
import { openVaeEncoder } from '../../training/vae-encoding.js';
import { stringOption, type Command } from '../command.js';
import { intOption, numberOption } from '../option-values.js';
import { modelStoreForCommand } from '../store-from-context.js';
import { storeResolver } from './txt2img.js';
import { lineChartSvg, SERIES_COLORS } from '../../experiments/chart-svg.js';

const sceneOf = { movielens: 'movie', pog: 'fashion', stickers: 'sticker' } as const;

export const softTrainCommand: Command = {
  name: 'soft train',
  summary: "train a soft module's map with the generator's denoising loss on (history → target image) pairs",
  usage: '--dataset movielens|pog|stickers --data DIR --images DIR --llm DIR --sd DIR --soft INIT_DIR --out RUN_DIR [--steps N] [--lr 5e-6] [--batch 6] [--accumulation 4]',
  options: {
    dataset: { type: 'string', value: 'NAME', description: 'movielens, pog or stickers (the eval protocols, 8:1:1 split)' },
    data: { type: 'string', value: 'DIR', description: 'the dataset folder' },
    images: { type: 'string', value: 'DIR', description: 'target images named by item id (<id>.png|jpg); samples without one are skipped and counted' },
    llm: { type: 'string', value: 'DIR', description: 'the LLM body the module was made for' },
    sd: { type: 'string', value: 'DIR', description: 'the generator (diffusers ONNX folder with vae_encoder/)' },
    soft: { type: 'string', value: 'DIR', description: 'the soft module to start from (pmg soft init)' },
    out: { type: 'string', short: 'o', value: 'RUN_DIR', description: 'the run folder: soft/, log.jsonl, checkpoint/; an existing run is resumed' },
    train: { type: 'string', value: 'map', description: "what is trained: map (the map only; 'full' needs the LLM body's gradient graph, not wired yet)", default: 'map' },
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
  },
  details: 'Gradients: the finite-difference stand-in until the gradient graphs (src/autodiff/) are plugged in; see docs/training.md.',
  async run(context) {
    const need = (name: string): string => {
      const value = stringOption(context, name);
      if (!value) throw new PmgError('invalid-argument', `missing --${name} (pmg soft train --help lists the flags)`);
      return resolve(context.io.cwd, value);
    };
    const dataset = stringOption(context, 'dataset') ?? '';
    if (!(dataset in sceneOf)) throw new PmgError('invalid-argument', `--dataset '${dataset}': use movielens, pog or stickers`);
    const [data, images, llm, sd, softDir, out] = ['data', 'images', 'llm', 'sd', 'soft', 'out'].map(need) as [string, string, string, string, string, string];
    if (!existsSync(images)) throw new PmgError('file-not-found', `--images ${images} does not exist; give the folder of target images named <item id>.png|jpg`);
    const train = stringOption(context, 'train') ?? 'map';
    if (train !== 'map' && train !== 'full') throw new PmgError('invalid-argument', `--train '${train}': use map or full`);
    const seed = intOption(context, 'seed', { min: 0, fallback: 0 });
    const module = readSoftModule(softDir);
    checkSoftScene(module, sceneOf[dataset as keyof typeof sceneOf]);
    const samples = await loadTrainSamples({ dataset, data, images, seed, protocol: stringOption(context, 'protocol') ?? 'window', valLimit: intOption(context, 'val-samples', { min: 0, fallback: 8 }), ...(stringOption(context, 'limit') ? { limit: intOption(context, 'limit', { min: 1, fallback: 1 }) } : {}) });
    const batch = intOption(context, 'batch', { min: 1, fallback: 6 });
    const accumulation = intOption(context, 'accumulation', { min: 1, fallback: 4 });
    const steps = intOption(context, 'steps', { min: 1, fallback: Math.max(1, Math.ceil((3 * samples.train.length) / (batch * accumulation))) });
    const settings: TrainSettings = {
      train,
      lr: numberOption(context, 'lr', 5e-6),
      weightDecay: numberOption(context, 'weight-decay', 0.01),
      batch,
      accumulation,
      steps,
      schedule: checkLrSchedule(stringOption(context, 'schedule') ?? 'constant'),
      warmup: intOption(context, 'warmup', { min: 0, fallback: 0 }),
      maxGradNorm: numberOption(context, 'max-grad-norm', 1),
      seed,
      valEvery: intOption(context, 'val-every', { min: 0, fallback: 10 }),
      checkpointEvery: intOption(context, 'checkpoint-every', { min: 1, fallback: 10 }),
      resolution: intOption(context, 'resolution', { min: 64, fallback: 512 }),
    };
    if (settings.resolution % 64 !== 0) throw new PmgError('invalid-argument', `--resolution ${settings.resolution}: use a multiple of 64`);
    if (existsSync(out) && readdirSync(out).some((f) => !['soft', 'log.jsonl', 'checkpoint', 'report.html', '.checkpoint.tmp', '.checkpoint.old'].includes(f))) {
      throw new PmgError('invalid-argument', `--out ${out} holds files that are not a training run; give a new folder or an earlier run to resume`);
    }
    const store = modelStoreForCommand(context);
    const body = await loadLlmBody(llm, { store });
    const model = await loadStableDiffusion(sd, { resolve: storeResolver(store), fuseAttention: false });
    checkSoftLlm(module, body);
    checkSoftGenerator(module, model.textEncoder.hiddenSize, sd);
    const vae = await openVaeEncoder(model.dir, settings.resolution);
    try {
      const prompts = loadPrompts();
      const prepare = async (s: (typeof samples.train)[number]): Promise<PreparedSample> => ({
        id: s.sample.id,
        targetStates: await encodePrompt(model.textEncoder, s.targetText),
        softStates: await softPositionStates(body, module, body.tokenize(await renderSoftPrompt(s.sample.scene, s.sample.history, prompts))),
        posterior: await vae.encode(s.image),
      });
      const prepared = { train: [] as PreparedSample[], val: [] as PreparedSample[] };
      for (const s of samples.train) prepared.train.push(await prepare(s));
      for (const s of samples.val) prepared.val.push(await prepare(s));
      const skipped = Object.entries(samples.skipped).map(([k, v]) => `${k} ${v}`).join(', ');
      context.io.stderr.write(`pmg: ${prepared.train.length} training and ${prepared.val.length} validation samples${skipped ? `; skipped: ${skipped}` : ''}; gradients: finite differences (stand-in)\n`);
      mkdirSync(out, { recursive: true });
      const result = await trainSoftMap({
        settings, runDir: out, map: { weight: module.tensors.mapWeight, bias: module.tensors.mapBias }, N: module.config.N, ...prepared,
        unetPath: join(model.dir, 'unet', 'model.onnx'), unet: model.unet, noise: trainNoiseSchedule(model.schedulerConfig), scalingFactor: vae.scalingFactor,
        gradients: (path, options, only) => finiteDifferenceGradients(path, options, only ? { only } : {}),
        progress: createProgress({ stream: context.io.stderr }),
      });
      const written = writeSoftModule(join(out, 'soft'), { ...module.config, trainedWith: 'pmg soft train (map, diffusion loss)' }, { ...module.tensors, mapWeight: result.weight, mapBias: result.bias });
      writeFileSync(join(out, 'report.html'), trainReportHtml(result.log));
      const last = result.log.filter((l) => l.valLoss !== undefined).at(-1);
      context.io.stdout.write(`trained ${steps} steps${result.resumedFrom ? ` (resumed at step ${result.resumedFrom})` : ''}; ${last ? `validation loss ${last.valLoss!.toFixed(5)}; ` : ''}module ${written.source}\n`);
      return 0;
    } finally {
      await vae.close();
      await body.close?.();
    }
  },
};

/** RUN_DIR/report.html: the training and validation loss curves. */
function trainReportHtml(log: readonly LogLine[]): string {
  const series = [
    { name: 'training loss', points: log.filter((l) => l.loss !== undefined).map((l) => ({ x: l.step, y: l.loss! })), color: SERIES_COLORS[0]!, line: true },
    { name: 'validation loss', points: log.filter((l) => l.valLoss !== undefined).map((l) => ({ x: l.step, y: l.valLoss! })), color: SERIES_COLORS[1]!, line: true },
  ];
  return `<!doctype html><meta charset="utf-8"><title>pmg soft train</title><h1>Soft-branch training (denoising loss)</h1>${lineChartSvg({ title: 'loss', xLabel: 'optimiser step', yLabel: 'MSE', series })}\n`;
}
