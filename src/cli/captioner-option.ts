/**
 * `--captioner SPEC`, shared by the commands that verbalize a history (`pmg keywords`, `pmg generate`, `pmg eval`):
 * an image-to-text model for history items that only have an image. Relative image paths are read from the folder
 * of the file that named them (`baseDir`); URLs and absolute paths are passed on as they are.
 */
import { commandSettings } from './command-settings.js';
import { isAbsolute, resolve } from 'node:path';
import type { CaptionImage } from '../personalize/verbalize.js';
import { createCaptioner } from '../providers/captioner/onnx-captioner.js';
import { stringOption, type CommandContext, type OptionSpec } from './command.js';

export const captionerCommandOption: Record<'captioner', OptionSpec> = {
  captioner: { type: 'string', value: 'SPEC', description: 'image-to-text model for history items that only have an image: onnx:<folder or repo id>' },
};

export interface OpenedCaptioner {
  /** Undefined when no --captioner was given. */
  captionImage?: CaptionImage;
  close(): Promise<void>;
}

/** Loads the captioner of `--captioner` (nothing when the flag is absent). */
export async function openCaptioner(context: CommandContext, baseDir: string): Promise<OpenedCaptioner> {
  const spec = stringOption(context, 'captioner');
  if (spec === undefined) return { close: async () => undefined };
  const captioner = await createCaptioner(spec, { settings: commandSettings(context), offline: context.globals.offline });
  return {
    captionImage: (image: string) => captioner.caption(isAbsolute(image) || /^[a-z]+:\/\//i.test(image) ? image : resolve(baseDir, image)),
    close: async () => {
      await captioner.close?.();
    },
  };
}
