/** `pmg txt2img`: generate images with a Stable Diffusion ONNX model. */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { writeFilesAtomicSync } from '../../core/atomic-write.js';
import { createProgress } from '../../core/progress.js';
import { tensorToPngs } from '../../core/image-tensor.js';
import { PmgError } from '../../errors/pmg-error.js';
import { generationPngTexts, imageRecord } from '../../pipeline/generation-record.js';
import { textToImageRecord } from '../../pipeline/text-to-image-record.js';
import { MAX_PROMPT_CHARS } from '../../pipeline/prompt-encoding.js';
import { DEFAULTS, MAX_STEPS, checkInputs, textToImage } from '../../pipeline/text-to-image.js';
import { pullingResolver, resolveDecoderChoice } from '../../providers/model-set.js';
import { loadStableDiffusion, type ModelResolver } from '../../providers/image/onnx-stable-diffusion.js';
import { loadTinyDecoder } from '../../providers/image/tiny-decoder.js';
import type { ModelStore } from '../../runtime/model-store.js';
import { resolveSchedulerName } from '../../schedulers/index.js';
import { booleanOption, stringOption, type Command, type CommandContext } from '../command.js';
import { decoderCommandOptions, decoderSettings, previewCommandOptions, previewFolder } from '../decoder-options.js';
import { readLatentsOption } from '../latents-option.js';
import { memoryCommandOptions, memoryOptions, verboseSink } from '../memory-options.js';
import { intOption, numberOption } from '../option-values.js';
import { checkOutputFile } from '../output-paths.js';
import { modelStoreForCommand } from '../store-from-context.js';

/** Local folders pass straight to the layout check (clear messages); hub ids are fetched with the files listed. */
export function storeResolver(store: ModelStore): ModelResolver {
  return async (spec, files, optionalFiles) => {
    const local = store.parse(spec).kind === 'local';
    const resolved = await store.resolve(spec, local ? {} : { files: [...files], optionalFiles: [...optionalFiles] });
    return { dir: resolved.dir, id: resolved.id, cached: !local };
  };
}

export const txt2imgCommand: Command = {
  name: 'txt2img',
  summary: 'generate images from a prompt with a Stable Diffusion ONNX model',
  usage: '--model <folder|hub id> --prompt TEXT --out FILE.png [flags]',
  options: {
    model: { type: 'string', value: 'DIR|ID', description: 'Stable Diffusion in the diffusers ONNX layout: a folder or a hub repo id' },
    ...decoderCommandOptions,
    prompt: {
      type: 'string',
      value: 'TEXT',
      description: `what to draw (at most ${MAX_PROMPT_CHARS} characters; long prompts are encoded in 75-token chunks)`,
    },
    negative: { type: 'string', value: 'TEXT', description: 'negative prompt (default: empty)' },
    steps: { type: 'string', value: 'N', description: `denoising steps, 1 to ${MAX_STEPS}`, default: String(DEFAULTS.steps) },
    guidance: {
      type: 'string',
      value: 'G',
      description: 'classifier-free guidance scale, >= 0 (<= 1 turns guidance off)',
      default: String(DEFAULTS.guidanceScale),
    },
    scheduler: { type: 'string', value: 'NAME', description: "scheduler (default: the model's scheduler_config.json)" },
    seed: {
      type: 'string',
      value: 'S',
      description: "seed of pmg's own noise generator (not torch.randn); image i of a batch uses S+i",
      default: String(DEFAULTS.seed),
    },
    latents: {
      type: 'string',
      value: 'FILE.npy',
      description:
        'start from these float32 latents [batch, 4, height/8, width/8] (e.g. saved from diffusers) instead of seeded noise; one row per image, or one shared',
    },
    eta: { type: 'string', value: 'E', description: "DDIM's eta, 0 to 1 (0: deterministic; other schedulers ignore it)", default: '0' },
    width: { type: 'string', value: 'W', description: 'image width, a multiple of 8', default: String(DEFAULTS.width) },
    height: { type: 'string', value: 'H', description: 'image height, a multiple of 8', default: String(DEFAULTS.height) },
    batch: { type: 'string', value: 'K', description: 'images generated together in one batch (1 to 16)', default: '1' },
    device: { type: 'string', value: 'cpu|cuda', description: 'execution provider', default: 'cpu' },
    threads: { type: 'string', value: 'N', description: "intra-op threads per session (default: the machine's cores)" },
    ...memoryCommandOptions,
    out: { type: 'string', short: 'o', value: 'FILE.png', description: 'output PNG; with --batch K > 1, FILE-0.png ... FILE-(K-1).png' },
    ...previewCommandOptions,
    json: {
      type: 'boolean',
      description: 'print the generation record (scheduler, resolved config, timesteps, seeds, timings) as JSON on stdout instead of the file names',
    },
  },
  details: [
    "Seeds drive pmg's own generator (xoshiro128** + Box-Muller, src/core/random.ts): it cannot reproduce torch.randn, so a",
    "seed does not give diffusers' image. The same seed and flags give byte-identical PNGs on one machine; images may",
    'differ slightly across CPUs, thread counts (--threads) and execution providers (--device). To compare with diffusers,',
    'start both from the same latents: save them with np.save (float32, [batch, 4, height/8, width/8]) and pass --latents;',
    "pmg multiplies them by the scheduler's init_noise_sigma, as diffusers does with latents it is given.",
    '',
    'Every PNG carries its parameters in text chunks: "parameters" in the A1111 form (prompt, negative prompt, steps, sampler,',
    'CFG scale, seed, size, model) and "pmg" with the JSON record (scheduler, resolved config, timesteps, seed or latents',
    'file and sha256). --json prints that record, with timings and file names, on stdout.',
    '',
    "As diffusers' Stable Diffusion pipelines do, an outdated scheduler config gets steps_offset 1 and clip_sample false",
    '(one warning line each). Classifier-free guidance runs the unconditional and conditional halves of every image as',
    'rows of one UNet call, unless --memory-budget says they do not fit: then they run in slices (on CPU, a full-size UNet',
    'runs one row per call, since batching buys no speed there). Slices never change the pixels; --verbose prints the plan.',
    'More: docs/txt2img.md and docs/performance.md.',
    '',
    '--decoder DIR|ID loads a tiny autoencoder (TAESD, ONNX: vae_decoder/model.onnx + config.json, e.g. julienkay/taesd): it',
    'decodes the final images (about 19x cheaper than the VAE on CPU, softer detail) unless --final-decoder vae, and the',
    '--previews. The record\'s "decoder" says which one made the image (A1111 "VAE" names a tiny one).',
    '',
    "A model without tokenizer/ uses its base model's CLIP tokenizer (SD 1.x: openai/clip-vit-large-patch14, SD 2.x:",
    'stabilityai/stable-diffusion-2-1), fetched into the model cache; without scheduler/ a built-in config of the family',
    'is used (see docs/generate.md). Each fallback prints one warning on stderr.',
    '',
    'Example:',
    "  pmg txt2img --model ./sd-onnx --prompt 'movie poster, noir, city at night' --steps 30 --seed 7 --out poster.png",
  ].join('\n'),
  async run(context) {
    const modelSpec = required(context, 'model');
    const prompt = required(context, 'prompt');
    const negative = stringOption(context, 'negative') ?? '';
    const steps = intOption(context, 'steps', { fallback: DEFAULTS.steps });
    const guidanceScale = numberOption(context, 'guidance', DEFAULTS.guidanceScale);
    const seed = intOption(context, 'seed', { fallback: DEFAULTS.seed });
    const width = intOption(context, 'width', { fallback: DEFAULTS.width });
    const height = intOption(context, 'height', { fallback: DEFAULTS.height });
    const batch = intOption(context, 'batch', { min: 1, max: 16, fallback: 1 });
    const threads = intOption(context, 'threads', { min: 1, max: 1024 });
    const device = stringOption(context, 'device') ?? 'cpu';
    const scheduler = stringOption(context, 'scheduler');
    const eta = numberOption(context, 'eta', 0);
    const json = booleanOption(context, 'json');
    const memory = memoryOptions(context);
    const out = resolve(context.io.cwd, required(context, 'out'));

    if (device !== 'cpu' && device !== 'cuda') throw new PmgError('invalid-argument', `--device must be cpu or cuda, got '${device}'`);
    if (extname(out).toLowerCase() !== '.png') throw new PmgError('invalid-argument', `--out ${out} must end in .png`);
    checkOutputFile(out, '--out');
    if (!existsSync(dirname(out)) || !statSync(dirname(out)).isDirectory())
      throw new PmgError('file-not-found', `folder ${dirname(out)} of --out does not exist; create it first`);
    if (prompt.length > MAX_PROMPT_CHARS) throw new PmgError('invalid-argument', `--prompt has ${prompt.length} characters; the limit is ${MAX_PROMPT_CHARS}`);
    if (negative.length > MAX_PROMPT_CHARS)
      throw new PmgError('invalid-argument', `--negative has ${negative.length} characters; the limit is ${MAX_PROMPT_CHARS}`);
    checkInputs({ candidates: [{ prompt, negativePrompt: negative }], steps, guidanceScale, width, height, seed, eta });
    if (scheduler !== undefined) resolveSchedulerName(scheduler); // unknown names fail here, listing the known ones
    const latentsFile = stringOption(context, 'latents');
    const latents =
      latentsFile === undefined
        ? undefined
        : readLatentsOption(resolve(context.io.cwd, latentsFile), { count: batch, width, height, countFlags: `--batch ${batch}` });
    const { decoder: decoderSpec, finalDecoder } = resolveDecoderChoice(decoderSettings(context));
    const previews = previewFolder(context);

    const warn = (message: string): void => void context.io.stderr.write(`pmg: warning: ${message}\n`);
    const started = performance.now();
    const store = modelStoreForCommand(context);
    const model = await loadStableDiffusion(modelSpec, {
      resolve: storeResolver(store),
      device,
      threads,
      warn,
      optimizedCacheDir: store.options.cacheDir,
    });
    const tiny = decoderSpec ? await loadTinyDecoder(decoderSpec, { resolve: pullingResolver(store), device, threads }) : undefined;
    const loaded = performance.now();
    const progress = createProgress({ stream: context.io.stderr });
    // The bar starts before the first step (which takes seconds on a real UNet), counting the steps asked for.
    const task = progress.start('denoising', steps, 'steps');
    const result = await textToImage(model, {
      candidates: Array.from({ length: batch }, () => ({ prompt, negativePrompt: negative })),
      seed,
      steps,
      guidanceScale,
      width,
      height,
      scheduler,
      eta,
      ...(latents ? { latents: latents.tensor } : {}),
      ...(tiny ? { tinyDecoder: tiny.decoder } : {}),
      finalDecoder,
      ...(previews ? { onPreview: previews.write, previewEvery: previews.every } : {}),
      warn,
      memory,
      info: verboseSink(context),
      onStep: (event) => {
        task.update(event.stepsDone);
      },
    });
    task.finish();
    const paths = batch === 1 ? [out] : result.seeds.map((_, i) => join(dirname(out), `${basename(out, extname(out))}-${i}${extname(out)}`));
    const ms = (a: number, b: number): number => Math.round((b - a) * 10) / 10;
    const record = textToImageRecord({
      modelId: model.id,
      ...(tiny ? { tinyDecoderId: tiny.id } : {}),
      prompt,
      negativePrompt: negative,
      steps,
      guidanceScale,
      width,
      height,
      eta,
      result,
      timings: { load: ms(started, loaded), ...result.timings, total: ms(started, performance.now()) },
      images: result.seeds.map((s, i) => ({ ...imageRecord(i, s, latents?.tensor, latents?.source), file: paths[i]! })),
    });
    const pngs = await tensorToPngs(result.images, (i) => generationPngTexts(record, i));
    writeAllAtomically(paths, pngs);
    if (json) context.io.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
    else for (const path of paths) context.io.stdout.write(`${path}\n`);
    return 0;
  },
};

/** Write every file or none: temporary names first, then renames; on failure remove what was written. */
function writeAllAtomically(paths: string[], contents: Buffer[]): void {
  try {
    writeFilesAtomicSync(paths.map((path, i) => [path, contents[i]!] as const));
  } catch (error) {
    throw new PmgError('invalid-argument', `cannot write ${paths.join(', ')}: ${(error as Error).message}`, { cause: error });
  }
}

function required(context: CommandContext, name: string): string {
  const value = stringOption(context, name);
  if (value === undefined || value.trim() === '') throw new PmgError('invalid-argument', `--${name} is required; see 'pmg txt2img --help'`);
  return value;
}
