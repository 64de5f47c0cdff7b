/**
 * `pmg generate`: PMG end to end for one user — keywords from the LLM, one batched diffusion run for every
 * preference weight, CLIP scores, the candidate with the largest z — written to a result folder
 * (best.png, candidate-<i>.png, result.json). Everything cheap is checked before a model is loaded, and the
 * folder is written atomically, so bad input leaves --out untouched.
 */
import { commandSettings } from '../command-settings.js';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createProgress, type ProgressTask } from '../../core/progress.js';
import { PmgError } from '../../errors/pmg-error.js';
import { checkWeights, type ConditioningMode } from '../../personalize/conditioning.js';
import { readHistoryFile, readTargetFile } from '../../personalize/inputs.js';
import { checkCaptionable } from '../../personalize/verbalize.js';
import { loadPersonalizeModels, resolveModelSpecs, type GeneratorModelSetSpec } from '../../providers/model-set.js';
import {
  checkPersonalizeRequest,
  conditioningModes,
  personalize,
  personalizeMethods,
  searchStrategies,
  type PersonalizeMethod,
  type SearchStrategy,
} from '../../personalize/personalize.js';
import { checkGenerationJob, type GenerationJob } from '../../jobs/generation-job.js';
import { jobToPersonalizeRequest } from '../../jobs/job-request.js';
import { DEFAULT_PRESET, presetNames } from '../../providers/presets.js';
import { promptStyle, type PromptStyleName } from '../../personalize/prompt-styles.js';
import { writeResultFolder } from '../../personalize/result-files.js';
import { checkPreviewScale, type PreviewScale } from '../../pipeline/latent-preview.js';
import { checkInputs, MAX_STEPS } from '../../pipeline/text-to-image.js';
import { resolveSchedulerName } from '../../schedulers/index.js';
import { scenes, type Scene } from '../../spec/behaviour.js';
import { captionerCommandOption, openCaptioner } from '../captioner-option.js';
import { decoderCommandOptions, decoderSettings, previewCommandOptions, previewFolder } from '../decoder-options.js';
import { stringOption, type Command, type CommandContext } from '../command.js';
import { readLatentsOption } from '../latents-option.js';
import { memoryCommandOptions, memoryOptions, verboseSink } from '../memory-options.js';
import { keywordCacheChoice, keywordCacheOptions, llmCommandOptions, llmSettings, openChosenKeywordCache } from '../llm-options.js';
import { intOption, numberOption } from '../option-values.js';
import { checkOutputFolder } from '../output-paths.js';
import { modelStoreForCommand } from '../store-from-context.js';
import { withJobFlags } from '../job-errors.js';
import { modelsFolderOf, openSoftBranch, softChoice, softCommandOptions } from '../soft-options.js';

/** `--weights 1,2` → [1, 2]; an empty list or a non-number is an error naming the flag. */
export function parseWeightList(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (!text.trim() || parts.every((p) => p === '')) throw new PmgError('invalid-argument', '--weights is empty; give at least one weight, e.g. --weights 1,2');
  return parts.map((p) => {
    const value = Number(p);
    if (p === '' || !Number.isFinite(value)) throw new PmgError('invalid-argument', `--weights: '${p}' is not a number; give a comma-separated list like 1,2`);
    if (value < 0) throw new PmgError('invalid-argument', `--weights: ${value} is negative; weights must be >= 0`);
    return value;
  });
}

function oneOf<T extends string>(context: CommandContext, name: string, allowed: readonly T[]): T | undefined {
  const value = stringOption(context, name);
  if (value !== undefined && !allowed.includes(value as T)) throw new PmgError('invalid-argument', `unknown --${name} '${value}'; use ${allowed.join('|')}`);
  return value as T | undefined;
}

export const generateCommand: Command = {
  name: 'generate',
  summary: 'personalized generation: keywords, candidates for each preference weight, CLIP-scored choice',
  usage: '--scene movie|fashion|sticker --history FILE --target FILE --out DIR [--models DIR|PRESET] [flags]',
  options: {
    scene: { type: 'string', value: 'SCENE', description: `${scenes.join(', ')}` },
    history: { type: 'string', value: 'FILE', description: 'history JSON: a list of items or {"items", "conversation"}' },
    target: { type: 'string', value: 'FILE', description: 'target JSON: one item (stickers: {"conversation": [...]})' },
    out: { type: 'string', short: 'o', value: 'DIR', description: 'result folder: best.png, candidate-<i>.png, result.json' },
    models: {
      type: 'string',
      value: 'DIR|PRESET',
      description: `a folder with llm/, clip/, sd/ (and taesd/, used for previews) as 'pmg models fixtures' writes it, or a preset: ${presetNames.join(', ')} (default: ${DEFAULT_PRESET})`,
    },
    ...llmCommandOptions,
    clip: { type: 'string', value: 'DIR|ID', description: 'CLIP folder or hub id (transformers.js layout), overrides the one of --models' },
    sd: { type: 'string', value: 'DIR|ID', description: 'Stable Diffusion folder or hub id (diffusers ONNX layout), overrides the one of --models' },
    generator: {
      type: 'string',
      value: 'SPEC',
      description:
        'a remote image generator instead of --sd: a1111:http://host:port (AUTOMATIC1111 with --api) or comfyui:http://host:port[#ckpt=FILE] (ComfyUI); keywords and CLIP scoring stay in pmg (docs/remote-generators.md)',
    },
    ...decoderCommandOptions,
    method: {
      type: 'string',
      value: 'M',
      description: `${personalizeMethods.join('|')} (default: pmg; target-only = no preference, keywords = one fixed weight, soft = target + soft tokens of --soft; pmg adds the soft tokens when --soft is given)`,
    },
    ...softCommandOptions,
    alpha: { type: 'string', value: 'A', description: 'z = A·log d_p + (1−A)·log d_t, from 0 to 1 (default: 2/3)' },
    weights: {
      type: 'string',
      value: 'W,W',
      description: 'preference weights, one candidate each (default per scene: movie 1,2; fashion 2,3; sticker 1; embed 0.5,1,1.5)',
    },
    'target-weight': { type: 'string', value: 'W', description: 'embed mode: w_t, the factor of the target part (default 1; repeat mode allows only 1)' },
    mode: {
      type: 'string',
      value: 'MODE',
      description: 'repeat (repeat the preference keywords w times) or embed (scale their embeddings by w)',
      default: 'repeat',
    },
    search: {
      type: 'string',
      value: 'S',
      description: 'exhaustive (all candidates to the end) or early (finish only the best previews)',
      default: 'exhaustive',
    },
    'early-fraction': { type: 'string', value: 'F', description: 'early search: fraction of the steps before the previews are scored (default 0.4)' },
    'early-keep': { type: 'string', value: 'K', description: 'early search: candidates finished (default 1)' },
    'preview-scale': {
      type: 'string',
      value: '1|2|4',
      description:
        'previews: x0 latents average-pooled SxS before the preview decode (default 2 with the VAE, 1 with a tiny decoder; lowered so the pooled latent stays >= 8x8)',
    },
    ...previewCommandOptions,
    steps: { type: 'string', value: 'N', description: `denoising steps, 1 to ${MAX_STEPS} (default: the preset's, else 30)` },
    guidance: { type: 'string', value: 'G', description: "guidance scale; <= 1 turns guidance off (default: the preset's, else 7.5)" },
    scheduler: { type: 'string', value: 'NAME', description: "scheduler (default: the preset's, else the model's scheduler_config.json)" },
    seed: { type: 'string', value: 'S', description: "seed of pmg's own noise generator (not torch.randn); every candidate uses the same seed", default: '0' },
    latents: {
      type: 'string',
      value: 'FILE.npy',
      description: 'start from these float32 latents instead of seeded noise: [1, 4, height/8, width/8] shared by every candidate, or one row per candidate',
    },
    width: { type: 'string', value: 'W', description: "image width, a multiple of 8 (default: the preset's, else 512)" },
    height: { type: 'string', value: 'H', description: "image height, a multiple of 8 (default: the preset's, else 512)" },
    'prompt-style': {
      type: 'string',
      value: 'STYLE',
      description: "official (the authors' negative prompts and sticker prefix) or pmg (pmg's own); default: the preset's (paper: official), else pmg",
    },
    ...captionerCommandOption,
    device: { type: 'string', value: 'cpu|cuda', description: 'execution provider', default: 'cpu' },
    threads: { type: 'string', value: 'N', description: "intra-op threads per diffusion session (default: the machine's cores)" },
    ...memoryCommandOptions,
    ...keywordCacheOptions,
  },
  details: [
    'Examples:',
    '  pmg generate --scene movie --history h.json --target t.json --out result/            # the fast preset (downloads on first run)',
    '  pmg models fixtures ./fx && pmg generate --models ./fx --scene movie --history h.json --target t.json --steps 4 --width 64 --height 64 --out result/',
    '  pmg generate --models paper --scene movie --history h.json --target t.json --search early --early-keep 1 --out result/',
    '  pmg generate --models ./fx --generator a1111:http://127.0.0.1:7860 --scene movie --history h.json --target t.json --out result/   # the images from an A1111 server',
    '  pmg generate --models ./fx --decoder ./fx/taesd --scene movie --history h.json --target t.json --steps 4 --width 64 --height 64 --previews live/ --out result/',
    'The winner has the largest z = alpha*log(d_p) + (1-alpha)*log(d_t) (d = 100*cos of CLIP embeddings; ties go to the lower weight).',
    'With --search early, only finished candidates can win; the others keep their preview image and scores (finished: false).',
    "A tiny autoencoder (--decoder, the fast preset's julienkay/taesd, or DIR/taesd of --models DIR) decodes every preview;",
    'the final images come from it with --final-decoder tiny (the default with --decoder and with the fast preset), else from',
    "the model's VAE. result.json records each image's decoder (candidates[i].decoder) and the final one (settings.finalDecoder).",
    'The LLM is --llm, else "llm" in pmg.config.json, else the one of --models.',
    "Soft preference tokens (docs/soft.md): --soft DIR adds the module's N tokens (times --soft-weight) after the text of every",
    'candidate of --method pmg or soft, computed once per user by the LLM body (--llm-body, default <models>/llm-body) and cached',
    "with the keyword answers; result.json records the module (soft) and each candidate's context length (candidates[i].contextTokens).",
    '  pmg models fixtures fx && pmg generate --models fx --soft fx/soft --scene movie --history h.json --target t.json --steps 4 --width 64 --height 64 --out result/',
    "Seeds drive pmg's own generator, not torch.randn: a seed does not give diffusers' image, and images may differ slightly",
    'across CPUs, thread counts and execution providers. --latents FILE.npy (float32, saved with np.save) starts from given',
    "latents instead, multiplied by the scheduler's init_noise_sigma as diffusers does; result.json records the file and its sha256.",
    'Every PNG carries its generation parameters as text chunks ("parameters" in the A1111 form, "pmg" as JSON).',
    'Memory: --memory-budget (default auto) sets how many UNet rows (candidates x guidance halves) run per call and whether',
    'the VAE decodes in tiles; result.json records the plan in settings.memory, --verbose prints it (docs/performance.md).',
  ].join('\n'),
  async run(context) {
    const { io } = context;
    // 1. Everything cheap, before any model is loaded.
    const sceneText = stringOption(context, 'scene');
    if (sceneText === undefined) throw new PmgError('invalid-argument', `missing --scene; use --scene ${scenes.join('|')}`);
    if (!scenes.includes(sceneText as Scene)) throw new PmgError('invalid-argument', `unknown scene '${sceneText}'; use --scene ${scenes.join('|')}`);
    const scene = sceneText as Scene;
    const historyFile = stringOption(context, 'history');
    if (!historyFile) throw new PmgError('invalid-argument', 'missing --history FILE (a JSON list of items, or {"items": [...], "conversation": [...]})');
    const targetFile = stringOption(context, 'target');
    if (!targetFile) throw new PmgError('invalid-argument', 'missing --target FILE (the item to generate for; stickers: {"conversation": [...]})');
    const outText = stringOption(context, 'out');
    if (!outText) throw new PmgError('invalid-argument', 'missing --out DIR (the result folder)');
    const out = resolve(io.cwd, outText);
    checkOutputFolder(out, '--out');
    if (!existsSync(dirname(out))) throw new PmgError('file-not-found', `folder ${dirname(out)} of --out does not exist; create it first`);

    const history = readHistoryFile(resolve(io.cwd, historyFile));
    checkCaptionable(history.items, stringOption(context, 'captioner') !== undefined);
    const target = readTargetFile(resolve(io.cwd, targetFile));
    const mode = oneOf<ConditioningMode>(context, 'mode', conditioningModes) ?? 'repeat';
    const search = oneOf<SearchStrategy>(context, 'search', searchStrategies) ?? 'exhaustive';
    const method = oneOf<PersonalizeMethod>(context, 'method', personalizeMethods) ?? 'pmg';
    const modelsText = stringOption(context, 'models');
    const soft = softChoice(context, modelsFolderOf(context, modelsText));
    const weightsText = stringOption(context, 'weights');
    const weights = weightsText === undefined ? undefined : parseWeightList(weightsText);
    if (weights) checkWeights(weights, mode);
    const targetWeight = numberOption(context, 'target-weight');
    if (targetWeight !== undefined && targetWeight !== 1 && mode === 'repeat') {
      throw new PmgError(
        'invalid-argument',
        `--target-weight ${targetWeight} needs --mode embed: in repeat mode the target keywords are written once (weight 1) and only the preference keywords are repeated`,
      );
    }
    if (targetWeight !== undefined && targetWeight < 0) throw new PmgError('invalid-argument', `--target-weight must be a number >= 0, got ${targetWeight}`);
    const previewScale = intOption(context, 'preview-scale');
    if (previewScale !== undefined) checkPreviewScale(previewScale, '--preview-scale');
    const alpha = numberOption(context, 'alpha');
    if (alpha !== undefined && (alpha < 0 || alpha > 1)) throw new PmgError('invalid-argument', `--alpha must be between 0 and 1, got ${alpha}`);
    const device = stringOption(context, 'device') ?? 'cpu';
    if (device !== 'cpu' && device !== 'cuda') throw new PmgError('invalid-argument', `--device must be cpu or cuda, got '${device}'`);
    const threads = intOption(context, 'threads', { min: 1 });
    const scheduler = stringOption(context, 'scheduler');
    if (scheduler !== undefined) resolveSchedulerName(scheduler);
    const style = stringOption(context, 'prompt-style');
    if (style !== undefined) promptStyle(style, '--prompt-style');
    const decoders = decoderSettings(context);
    const softText = stringOption(context, 'soft');
    // The job: everything the flags and files say, as data, checked in one place (jobs/generation-job.ts).
    const jobData: GenerationJob = {
      scene,
      history,
      target,
      method,
      mode,
      search,
      ...optional('alpha', alpha),
      ...optional('weights', weights),
      ...optional('targetWeight', targetWeight),
      ...optional('previewScale', previewScale as PreviewScale | undefined),
      ...optional('earlyFraction', numberOption(context, 'early-fraction')),
      ...optional('earlyKeep', intOption(context, 'early-keep')),
      ...optional('steps', intOption(context, 'steps')),
      ...optional('guidance', numberOption(context, 'guidance')),
      ...optional('seed', intOption(context, 'seed')),
      ...optional('width', intOption(context, 'width')),
      ...optional('height', intOption(context, 'height')),
      ...optional('scheduler', scheduler),
      ...optional('promptStyle', style as PromptStyleName | undefined),
      ...optional('decoder', decoders.decoder),
      ...optional('finalDecoder', decoders.finalDecoder),
      ...optional('generator', stringOption(context, 'generator')),
      ...(soft && softText
        ? {
            soft: {
              module: resolve(io.cwd, softText),
              llmBody: soft.bodySpec,
              weight: soft.weight,
              ...(soft.allowLlmMismatch ? { allowLlmMismatch: true } : {}),
            },
          }
        : {}),
    };
    const job = withJobFlags(() => checkGenerationJob(jobData, { allowGenerator: true }), { history: historyFile, target: targetFile });
    const checked = checkPersonalizeRequest({
      ...jobToPersonalizeRequest({ ...job, soft: undefined }),
      ...(soft ? { soft: { module: soft.module, weight: soft.weight } } : {}),
    });
    checkInputs({
      candidates: [{ prompt: '' }],
      steps: checked.steps,
      guidanceScale: checked.guidance,
      width: checked.width,
      height: checked.height,
      seed: checked.seed,
    });
    const latentsFile = stringOption(context, 'latents');
    const count = checked.weights.length;
    const latents =
      latentsFile === undefined
        ? undefined
        : readLatentsOption(resolve(io.cwd, latentsFile), { count, width: checked.width, height: checked.height, countFlags: `${count} candidate(s)` });
    const cacheChoice = keywordCacheChoice(context);
    const llm = llmSettings(context);
    const modelSpec: GeneratorModelSetSpec = {
      models: modelsText,
      llm: llm.llm,
      llmModel: llm.llmModel,
      clip: stringOption(context, 'clip'),
      sd: stringOption(context, 'sd'),
      ...(job.generator ? { generator: job.generator } : {}),
      ...decoders,
      device,
      ...(threads ? { threads } : {}),
    };
    resolveModelSpecs(modelSpec, io.cwd); // the model and decoder choice, checked before anything loads
    const previews = previewFolder(context);
    const memory = memoryOptions(context);

    // 2. Models, keywords, candidates, scores.
    const warn = (message: string): void => void io.stderr.write(`pmg: warning: ${message}\n`);
    const models = await loadPersonalizeModels(modelSpec, {
      store: modelStoreForCommand(context),
      settings: commandSettings(context, { config: true }),
      offline: context.globals.offline,
      warn,
    });
    if (previews && models.generator && !models.generator.capabilities.previews)
      warn(`--previews: the image generator ${models.generator.id} makes no live previews; none are written`);
    const cache = openChosenKeywordCache(cacheChoice, commandSettings(context, { config: true }));
    let captioner: Awaited<ReturnType<typeof openCaptioner>> | undefined;
    let softBranch: Awaited<ReturnType<typeof openSoftBranch>> | undefined;
    try {
      captioner = await openCaptioner(context, dirname(resolve(io.cwd, historyFile)));
      softBranch = soft ? await openSoftBranch(soft, context, { cache: cacheChoice, device, ...(threads ? { threads } : {}) }) : undefined;
      const progress = createProgress({ stream: io.stderr });
      let task: ProgressTask | undefined;
      let lastStep = '';
      const result = await personalize(
        models,
        jobToPersonalizeRequest(job, {
          ...(softBranch ? { soft: softBranch.request } : {}),
          ...(latents ? { latents: latents.tensor, latentsSource: latents.source } : {}),
          keywordOptions: { ...(cache ? { cache } : {}), ...(captioner.captionImage ? { captioner: captioner.captionImage } : {}) },
          ...(previews ? { onPreview: previews.write, previewEvery: previews.every } : {}),
          warn,
          memory,
          info: verboseSink(context),
          onProgress: (event) => {
            if (event.stage === 'generate' && event.step !== undefined && event.total !== undefined) {
              task ??= progress.start('denoising', event.total, 'steps');
              task.update(event.step);
              lastStep = `${event.step}/${event.total}`;
              if (event.step >= event.total) {
                task.finish();
                task = undefined;
              }
            } else if (event.message) {
              // Early search pauses the denoising for previews: end the bar's line before other lines.
              task?.finish(`paused at step ${lastStep}`);
              task = undefined;
              io.stderr.write(`${event.stage}: ${event.message}\n`);
            }
          },
        }),
      );
      task?.finish();
      // 3. The result folder, atomically.
      const files = await writeResultFolder(out, result, { models: models.ids });
      const best = result.candidates[result.chosen]!;
      io.stdout.write(
        `chosen: candidate ${result.chosen} (preference weight ${best.weights.preference}, target weight ${best.weights.target}) z=${best.z.toFixed(4)} d_p=${best.dp.toFixed(2)} d_t=${best.dt.toFixed(2)}\n`,
      );
      io.stdout.write(`${files.resultJson}\n`);
      return 0;
    } finally {
      cache?.close();
      await captioner?.close();
      await softBranch?.close();
      await models.close();
    }
  },
};

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
