/** `pmg txt2img`: generate images with a Stable Diffusion ONNX model. */
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { createProgress } from '../../core/progress.js';
import { tensorToPngs } from '../../core/image-tensor.js';
import { PmgError } from '../../errors/pmg-error.js';
import { MAX_PROMPT_CHARS } from '../../pipeline/prompt-encoding.js';
import { DEFAULTS, MAX_STEPS, checkInputs, textToImage } from '../../pipeline/text-to-image.js';
import { loadStableDiffusion, type ModelResolver } from '../../providers/image/onnx-stable-diffusion.js';
import type { ModelStore } from '../../runtime/model-store.js';
import { resolveSchedulerName } from '../../schedulers/index.js';
import { stringOption, type Command, type CommandContext } from '../command.js';
import { intOption, numberOption } from '../option-values.js';
import { checkOutputFile } from '../output-paths.js';
import { modelStoreForCommand } from '../store-from-context.js';

/** Local folders pass straight to the layout check (clear messages); hub ids are fetched with the files listed. */
export function storeResolver(store: ModelStore): ModelResolver {
  return async (spec, files, optionalFiles) => {
    const local = store.parse(spec).kind === 'local';
    const resolved = await store.resolve(spec, local ? {} : { files: [...files], optionalFiles: [...optionalFiles] });
    return { dir: resolved.dir, id: resolved.id };
  };
}

export const txt2imgCommand: Command = {
  name: 'txt2img',
  summary: 'generate images from a prompt with a Stable Diffusion ONNX model',
  usage: '--model <folder|hub id> --prompt TEXT --out FILE.png [flags]',
  options: {
    model: { type: 'string', value: 'DIR|ID', description: 'Stable Diffusion in the diffusers ONNX layout: a folder or a hub repo id' },
    prompt: { type: 'string', value: 'TEXT', description: `what to draw (at most ${MAX_PROMPT_CHARS} characters; long prompts are encoded in 75-token chunks)` },
    negative: { type: 'string', value: 'TEXT', description: 'negative prompt (default: empty)' },
    steps: { type: 'string', value: 'N', description: `denoising steps, 1 to ${MAX_STEPS}`, default: String(DEFAULTS.steps) },
    guidance: { type: 'string', value: 'G', description: 'classifier-free guidance scale, >= 0 (<= 1 turns guidance off)', default: String(DEFAULTS.guidanceScale) },
    scheduler: { type: 'string', value: 'NAME', description: "scheduler (default: the model's scheduler_config.json)" },
    seed: { type: 'string', value: 'S', description: 'seed of the noise; image i of a batch uses S+i', default: String(DEFAULTS.seed) },
    width: { type: 'string', value: 'W', description: 'image width, a multiple of 8', default: String(DEFAULTS.width) },
    height: { type: 'string', value: 'H', description: 'image height, a multiple of 8', default: String(DEFAULTS.height) },
    batch: { type: 'string', value: 'K', description: 'images generated together in one batch (1 to 16)', default: '1' },
    device: { type: 'string', value: 'cpu|cuda', description: 'execution provider', default: 'cpu' },
    threads: { type: 'string', value: 'N', description: "intra-op threads per session (default: the machine's cores)" },
    out: { type: 'string', short: 'o', value: 'FILE.png', description: 'output PNG; with --batch K > 1, FILE-0.png ... FILE-(K-1).png' },
  },
  details: [
    'The same seed and flags give byte-identical PNGs. The noise is xoshiro128** + Box-Muller (see src/core/random.ts),',
    'the same on every machine. Classifier-free guidance runs the unconditional and conditional halves in one UNet call.',
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
    const out = resolve(context.io.cwd, required(context, 'out'));

    if (device !== 'cpu' && device !== 'cuda') throw new PmgError('invalid-argument', `--device must be cpu or cuda, got '${device}'`);
    if (extname(out).toLowerCase() !== '.png') throw new PmgError('invalid-argument', `--out ${out} must end in .png`);
    checkOutputFile(out, '--out');
    if (!existsSync(dirname(out)) || !statSync(dirname(out)).isDirectory()) throw new PmgError('file-not-found', `folder ${dirname(out)} of --out does not exist; create it first`);
    if (prompt.length > MAX_PROMPT_CHARS) throw new PmgError('invalid-argument', `--prompt has ${prompt.length} characters; the limit is ${MAX_PROMPT_CHARS}`);
    if (negative.length > MAX_PROMPT_CHARS) throw new PmgError('invalid-argument', `--negative has ${negative.length} characters; the limit is ${MAX_PROMPT_CHARS}`);
    checkInputs({ candidates: [{ prompt, negativePrompt: negative }], steps, guidanceScale, width, height, seed });
    if (scheduler !== undefined) resolveSchedulerName(scheduler); // unknown names fail here, listing the known ones

    const warn = (message: string): void => void context.io.stderr.write(`pmg: warning: ${message}\n`);
    const model = await loadStableDiffusion(modelSpec, {
      resolve: storeResolver(modelStoreForCommand(context)),
      device,
      threads,
      warn,
    });
    const progress = createProgress({ stream: context.io.stderr });
    let task: ReturnType<typeof progress.start> | undefined;
    const result = await textToImage(model, {
      candidates: Array.from({ length: batch }, () => ({ prompt, negativePrompt: negative })),
      seed,
      steps,
      guidanceScale,
      width,
      height,
      scheduler,
      warn,
      onStep: (event) => {
        task ??= progress.start('denoising', event.stepCount, 'steps');
        task.update(event.step + 1);
      },
    });
    task?.finish();
    const pngs = await tensorToPngs(result.images);
    const paths = pngs.length === 1 ? [out] : pngs.map((_, i) => join(dirname(out), `${basename(out, extname(out))}-${i}${extname(out)}`));
    writeAllAtomically(paths, pngs);
    for (const path of paths) context.io.stdout.write(`${path}\n`);
    return 0;
  },
};

/** Write every file or none: temporary names first, then renames; on failure remove what was written. */
function writeAllAtomically(paths: string[], contents: Buffer[]): void {
  const temps = paths.map((p) => `${p}.tmp-${process.pid}`);
  const done: string[] = [];
  try {
    temps.forEach((t, i) => writeFileSync(t, contents[i]!));
    paths.forEach((p, i) => {
      renameSync(temps[i]!, p);
      done.push(p);
    });
  } catch (error) {
    for (const t of temps) rmSync(t, { force: true });
    for (const p of done) rmSync(p, { force: true });
    throw new PmgError('invalid-argument', `cannot write ${paths.join(', ')}: ${(error as Error).message}`, { cause: error });
  }
}

function required(context: CommandContext, name: string): string {
  const value = stringOption(context, name);
  if (value === undefined || value.trim() === '') throw new PmgError('invalid-argument', `--${name} is required; see 'pmg txt2img --help'`);
  return value;
}
