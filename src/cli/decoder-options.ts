/**
 * The decoder flags shared by `pmg generate`, `txt2img`, `eval` and `demo`: `--decoder` (a tiny autoencoder, TAESD,
 * or `none`) and `--final-decoder vae|tiny`; and the live-preview flags of `generate` and `txt2img`: `--previews DIR`
 * (after each step every image's x0 preview replaces DIR/preview-<i>.png) and `--preview-every N`.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { NO_DECODER, type ModelSetSpec } from '../providers/model-set.js';
import { previewImageName, writePreviewFiles } from '../pipeline/preview-files.js';
import type { StepPreview } from '../pipeline/step-preview.js';
import { decoderKinds, type DecoderKind } from '../spec/diffusion-models.js';
import { stringOption, type CommandContext, type OptionSpec } from './command.js';
import { intOption } from './option-values.js';
import { checkOutputFolder } from './output-paths.js';

export const decoderCommandOptions: Record<string, OptionSpec> = {
  decoder: {
    type: 'string',
    value: 'DIR|ID|none',
    description:
      "tiny autoencoder (TAESD as ONNX, e.g. julienkay/taesd): decodes every preview and, unless --final-decoder vae, the final images; none: no tiny decoder (where there are presets: default the preset's, and a --models folder's taesd/ for previews)",
  },
  'final-decoder': {
    type: 'string',
    value: 'vae|tiny',
    description:
      "which decoder makes the final images: vae (the model's own) or tiny (about 19x cheaper on CPU, softer detail); default: tiny with --decoder (or the fast preset), else vae",
  },
};

export const previewCommandOptions: Record<string, OptionSpec> = {
  previews: {
    type: 'string',
    value: 'DIR',
    description: "live previews: after each step, every image's predicted result replaces DIR/preview-<i>.png (tiny decoder when there is one)",
  },
  'preview-every': { type: 'string', value: 'N', description: 'with --previews: every N steps (default 1)' },
};

/**
 * `--decoder` and `--final-decoder` as ModelSetSpec fields (checked: the final decoder is vae or tiny). A decoder that
 * is an existing folder comes back as an absolute path (eval stores it in the run's config); anything else as given.
 */
export function decoderSettings(context: CommandContext): Pick<ModelSetSpec, 'decoder' | 'finalDecoder'> {
  const given = stringOption(context, 'decoder');
  const local = given === undefined || given.trim() === '' ? undefined : resolve(context.io.cwd, given);
  const decoder = local && given !== NO_DECODER && existsSync(local) && statSync(local).isDirectory() ? local : given;
  const finalDecoder = stringOption(context, 'final-decoder');
  if (finalDecoder !== undefined && !decoderKinds.includes(finalDecoder as DecoderKind)) {
    throw new PmgError('invalid-argument', `--final-decoder must be ${decoderKinds.join(' or ')}, got '${finalDecoder}'`, {
      details: { field: 'final-decoder' },
    });
  }
  return { ...(decoder !== undefined ? { decoder } : {}), ...(finalDecoder !== undefined ? { finalDecoder: finalDecoder as DecoderKind } : {}) };
}

export interface PreviewFolder {
  dir: string;
  every: number;
  /** Writes preview i of the batch to `<dir>/preview-<candidate>.png`, replacing the previous step's. */
  write(preview: StepPreview): Promise<void>;
}

/** The --previews folder (checked now, created with the first preview), or undefined without the flag. */
export function previewFolder(context: CommandContext): PreviewFolder | undefined {
  const text = stringOption(context, 'previews');
  const every = intOption(context, 'preview-every', { min: 1, fallback: 1 });
  if (text === undefined) {
    if (stringOption(context, 'preview-every') !== undefined)
      throw new PmgError('invalid-argument', '--preview-every needs --previews DIR (where the previews go)');
    return undefined;
  }
  const dir = resolve(context.io.cwd, text);
  checkOutputFolder(dir, '--previews');
  return {
    dir,
    every,
    async write(preview) {
      await writePreviewFiles(dir, preview);
    },
  };
}

export { previewImageName };
