/** `pmg demo`: PMG for the shipped sample users, written as one HTML page (web/demo-run.ts). */
import { commandSettings } from '../command-settings.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createProgress } from '../../core/progress.js';
import { parseJsonText } from '../../core/json-text.js';
import { PmgError, isPmgError } from '../../errors/pmg-error.js';
import { DEFAULT_PRESET, isPresetName, presetNames, presets, type ModelPreset } from '../../providers/presets.js';
import { decoderKinds } from '../../spec/diffusion-models.js';
import { runDemo } from '../../web/demo-run.js';
import { checkOutputFolder } from '../output-paths.js';
import { booleanOption, stringOption, type Command, type CommandContext } from '../command.js';
import { decoderCommandOptions, decoderSettings } from '../decoder-options.js';
import { llmCommandOptions, llmSettings } from '../llm-options.js';
import { intOption, numberOption } from '../option-values.js';
import { modelStoreForCommand } from '../store-from-context.js';
import { modelsFolderOf, softChoice, softCommandOptions } from '../soft-options.js';

/**
 * Env var naming a JSON file with a whole ModelPreset that replaces the chosen one: for mirrors that
 * host the models under other ids, and for tests that serve fixture models from a loopback hub.
 */
export const PRESET_FILE_ENV = 'PMG_PRESET_FILE';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run PMG for three sample MovieLens users and write one HTML page (start here)',
  usage: '[--tiny] [--preset fast|paper] [--models DIR] [--users N] [--out DIR] [flags]',
  options: {
    tiny: { type: 'boolean', description: 'offline, in seconds, on tiny random-weight fixture models (the images are noise)' },
    preset: { type: 'string', value: 'NAME', description: `hub models to download and use: ${presetNames.join(' or ')} (default: ${DEFAULT_PRESET})` },
    models: { type: 'string', value: 'DIR', description: 'a folder laid out like `pmg models fixtures` writes it (llm/, clip/, sd/) instead of a preset' },
    ...decoderCommandOptions,
    users: { type: 'string', value: 'N', description: 'how many sample users (default: all 3)' },
    out: { type: 'string', short: 'o', value: 'DIR', description: 'output folder; replaced when it holds an earlier demo', default: './pmg-demo' },
    steps: { type: 'string', value: 'N', description: "denoising steps (default: the preset's)" },
    seed: { type: 'string', value: 'S', description: 'seed of the noise', default: '0' },
    alpha: { type: 'string', value: 'A', description: 'α in z = α·log d_p + (1−α)·log d_t, from 0 to 1 (default: 2/3)' },
    device: { type: 'string', value: 'cpu|cuda', description: 'execution provider', default: 'cpu' },
    threads: { type: 'string', value: 'N', description: "intra-op threads per session (default: the machine's cores)" },
    ...llmCommandOptions,
    ...softCommandOptions,
  },
  details: [
    'Writes <out>/index.html (the page), <out>/user-<id>/{best.png,candidate-<i>.png,result.json} and <out>/demo.json,',
    "and prints the page's path as the last line. The first run without --tiny downloads the preset's models",
    '(see docs/demo.md for repo ids and sizes); later runs use the cache (PMG_CACHE_DIR, default ~/.cache/pmg).',
    'The fast preset (and --tiny) decode the final images with a tiny autoencoder (TAESD); the page says so. Use',
    "--final-decoder vae for the model's own VAE (slower on CPU, finer detail), or --decoder none to skip TAESD.",
    '',
    'Examples:',
    '  pmg demo --tiny            # offline, seconds, noise images: checks that everything works',
    '  pmg demo                   # fast preset: SD-Turbo, CLIP ViT-B/32, Qwen2.5-0.5B-Instruct',
    '  pmg demo --preset paper    # SD 1.5, 30 steps, guidance 9; needs an OpenAI-compatible LLM server',
    '  pmg demo --preset paper --llm openai:http://127.0.0.1:8080/v1 --llm-model qwen2.5-7b-instruct   # your own server',
    '  pmg models fixtures fx && pmg demo --models fx --soft fx/soft   # + soft tokens: target-only, keywords, soft and pmg+soft side by side',
    'With --soft DIR each user also runs target-only, keywords and soft (written to <out>/user-<id>/<method>/), shown beside',
    "pmg+soft; the LLM body is --llm-body, or <models>/llm-body of --models, or with --tiny the fixtures' own (docs/soft.md).",
  ].join('\n'),
  async run(context) {
    const tiny = booleanOption(context, 'tiny');
    const modelsDir = stringOption(context, 'models');
    const presetText = stringOption(context, 'preset');
    if (tiny && (modelsDir !== undefined || presetText !== undefined)) {
      throw new PmgError('invalid-argument', `--tiny uses the built-in fixture models; drop --${modelsDir !== undefined ? 'models' : 'preset'}`);
    }
    if (modelsDir !== undefined && presetText !== undefined) throw new PmgError('invalid-argument', 'give either --models or --preset, not both');
    if (tiny && (stringOption(context, 'llm') !== undefined || stringOption(context, 'llm-model') !== undefined)) {
      throw new PmgError('invalid-argument', '--tiny uses the built-in fixture LLM; drop --llm / --llm-model');
    }
    const device = stringOption(context, 'device') ?? 'cpu';
    if (device !== 'cpu' && device !== 'cuda') throw new PmgError('invalid-argument', `--device must be cpu or cuda, got '${device}'`);
    const preset = tiny || modelsDir !== undefined ? undefined : choosePreset(context, presetText ?? DEFAULT_PRESET);
    const steps = intOption(context, 'steps', { min: 1, max: 1000 });
    const threads = intOption(context, 'threads', { min: 1 });
    const users = intOption(context, 'users');
    const seed = intOption(context, 'seed', { fallback: 0 });
    const alpha = numberOption(context, 'alpha');
    const out = resolve(context.io.cwd, stringOption(context, 'out') ?? './pmg-demo');
    checkOutputFolder(out, '--out');
    // The keyword LLM: --llm / --llm-model, else pmg.config.json, else the preset's (not with --tiny: all fixtures).
    const llm = tiny ? {} : llmSettings(context);
    const log = (line: string): void => void context.io.stderr.write(`${line}\n`);
    const decoders = decoderSettings(context);
    const soft = softChoice(context, modelsDir !== undefined ? modelsFolderOf(context, modelsDir) : undefined, { bodyOptional: tiny });

    const outcome = await runDemo({
      out,
      tiny,
      ...(preset ? { preset } : {}),
      ...(modelsDir !== undefined ? { models: resolve(context.io.cwd, modelsDir) } : {}),
      ...llm,
      ...decoders,
      ...(users !== undefined ? { users } : {}),
      ...(steps !== undefined ? { steps } : {}),
      seed,
      ...(alpha !== undefined ? { alpha } : {}),
      ...(soft
        ? {
            soft: {
              module: soft.module,
              ...(soft.bodySpec !== undefined ? { bodySpec: soft.bodySpec } : {}),
              weight: soft.weight,
              allowLlmMismatch: soft.allowLlmMismatch,
            },
          }
        : {}),
      device,
      ...(threads !== undefined ? { threads } : {}),
      store: modelStoreForCommand(context),
      settings: commandSettings(context, { config: true }),
      offline: context.globals.offline,
      log,
      warn: (message) => log(`pmg: warning: ${message}`),
      progress: createProgress({ stream: context.io.stderr }),
    }).catch((error: unknown) => {
      throw tiny ? error : withTinyHint(error);
    });
    context.io.stdout.write(`${outcome.page}\n`);
    return 0;
  },
};

/** The hint every failing `pmg demo` (without --tiny) ends with, unless a flag is wrong or the run was stopped. */
export const TINY_HINT = "or run offline with 'pmg demo --tiny'";

export function withTinyHint(error: unknown): unknown {
  if (!isPmgError(error) || ['invalid-argument', 'aborted', 'internal'].includes(error.code) || error.message.endsWith(TINY_HINT)) return error;
  return new PmgError(error.code, `${error.message.replace(/[\s.;]+$/, '')}; ${TINY_HINT}`, {
    cause: error,
    details: error.details,
    isRetryable: error.isRetryable,
  });
}

function choosePreset(context: CommandContext, name: string): ModelPreset {
  const file = context.io.env[PRESET_FILE_ENV];
  if (file) return readPresetFile(resolve(context.io.cwd, file));
  if (!isPresetName(name)) throw new PmgError('invalid-argument', `--preset must be one of ${presetNames.join(', ')}, got '${name}'`);
  return presets[name];
}

/** A ModelPreset from JSON (PMG_PRESET_FILE); checks the fields the demo uses. */
export function readPresetFile(file: string): ModelPreset {
  let value: Partial<ModelPreset>;
  try {
    value = parseJsonText(readFileSync(file, 'utf8')) as Partial<ModelPreset>;
  } catch (error) {
    throw new PmgError('invalid-input', `cannot read ${PRESET_FILE_ENV} file ${file}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  for (const key of ['name', 'llm', 'clip', 'sd'] as const) {
    if (typeof value[key] !== 'string' || !value[key])
      throw new PmgError('invalid-input', `${PRESET_FILE_ENV} file ${file}: "${key}" must be a non-empty string`);
  }
  for (const key of ['steps', 'guidance', 'width', 'height', 'downloadBytes'] as const) {
    if (typeof value[key] !== 'number' || !Number.isFinite(value[key]))
      throw new PmgError('invalid-input', `${PRESET_FILE_ENV} file ${file}: "${key}" must be a number`);
  }
  if (value.decoder !== undefined && (typeof value.decoder !== 'string' || !value.decoder))
    throw new PmgError('invalid-input', `${PRESET_FILE_ENV} file ${file}: "decoder" must be a non-empty string`);
  if (value.finalDecoder !== undefined && !decoderKinds.includes(value.finalDecoder)) {
    throw new PmgError('invalid-input', `${PRESET_FILE_ENV} file ${file}: "finalDecoder" must be ${decoderKinds.join(' or ')}`);
  }
  if (value.finalDecoder === 'tiny' && !value.decoder)
    throw new PmgError('invalid-input', `${PRESET_FILE_ENV} file ${file}: "finalDecoder" "tiny" needs a "decoder"`);
  return { description: '', ...value } as ModelPreset;
}
