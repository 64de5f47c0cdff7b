/**
 * Prompt styles: the fixed words around the keywords in a generator prompt — each scene's negative prompt and
 * the sticker prefix (method.md §1 and §5).
 *
 * - `official`: the keyword lists of the authors' released code (method.md §5). The `paper` preset uses them.
 * - `pmg`: pmg's own lists, written for general-purpose SD checkpoints (SD-Turbo, SD 1.5): they name the
 *   usual failure modes (blur, watermarks, stray people in product images) instead of the authors' short lists.
 *   The `fast` preset and model folders use them unless a request asks for `official`.
 * The movie and fashion prefixes (`movie poster, <title>, named '<title>'`, `costume`) are the official ones in
 * both styles.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { Scene } from '../spec/behaviour.js';
import type { PromptStyleName } from '../spec/prompt-style.js';

export type { PromptStyleName };
export const promptStyleNames: readonly PromptStyleName[] = ['official', 'pmg'];
export const DEFAULT_PROMPT_STYLE: PromptStyleName = 'pmg';

export interface PromptStyle {
  name: PromptStyleName;
  /** The negative prompt of each scene. */
  negative: Readonly<Record<Scene, string>>;
  /** The words a sticker prompt starts with. */
  stickerPrefix: string;
}

export const promptStyles: Readonly<Record<PromptStyleName, PromptStyle>> = {
  official: {
    name: 'official',
    negative: {
      movie: 'broken text, unclear, twisted',
      fashion: 'human woman man body face fashion trendy',
      sticker: 'bad artist, worst quality, low quality, bad hands, low resolution, bad anatomy, text, watermark, blurry, extra limbs',
    },
    stickerPrefix: 'a cute emoji, stickers, biaoqing, white background',
  },
  pmg: {
    name: 'pmg',
    negative: {
      movie: 'low quality, blurry, distorted face, extra limbs, watermark, jpeg artifacts, misspelled text',
      fashion: 'low quality, blurry, person, face, body, mannequin, watermark, cluttered background',
      sticker: 'low quality, blurry, photo, realistic, complex background, watermark, text',
    },
    stickerPrefix: 'cute emoji sticker, white background',
  },
};

/** The style of that name; an unknown name is one line listing the known ones. */
export function promptStyle(name: string, field = 'promptStyle'): PromptStyle {
  if (!Object.hasOwn(promptStyles, name)) {
    throw new PmgError('invalid-argument', `unknown prompt style '${name}' (${field}); use ${promptStyleNames.join(' or ')}`, {
      details: { field, value: name },
    });
  }
  return promptStyles[name as PromptStyleName];
}
