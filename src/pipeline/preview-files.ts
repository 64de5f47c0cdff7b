/**
 * Live previews on disk: each image of a step preview (step-preview.ts) written over `<dir>/preview-<candidate>.png`
 * atomically (a temporary, then a rename), with a `pmg-preview` text chunk saying which step and decoder made it.
 * `pmg generate --previews DIR`, `pmg txt2img --previews DIR` and the job service's job folders write them so.
 */
import { join } from 'node:path';
import { encodePng } from '../core/image-io.js';
import { tensorToRgbImages } from '../core/image-tensor.js';
import { PmgError } from '../errors/pmg-error.js';
import { writeFileAtomic } from '../core/atomic-write.js';
import type { StepPreview } from './step-preview.js';

/** `preview-<index>.png`. */
export function previewImageName(index: number): string {
  return `preview-${index}.png`;
}

/** Each image of `preview` as a PNG with its `pmg-preview` chunk, with the candidate it shows. */
export async function encodePreviewPngs(preview: StepPreview): Promise<{ candidate: number; png: Buffer }[]> {
  const images = tensorToRgbImages(preview.images);
  const about = { stepsDone: preview.stepsDone, requestedSteps: preview.requestedSteps, decoder: preview.decoder, scale: preview.scale };
  return Promise.all(
    images.map(async (image, j) => {
      const index = preview.candidates[j]!;
      return { candidate: index, png: await encodePng(image, [{ keyword: 'pmg-preview', text: JSON.stringify({ ...about, index }) }]) };
    }),
  );
}

/** Writes every image of `preview` into `dir`; returns each candidate with its file name. */
export async function writePreviewFiles(dir: string, preview: StepPreview): Promise<{ candidate: number; file: string }[]> {
  return writePreviewPngs(dir, await encodePreviewPngs(preview));
}

/** Writes encoded previews (encodePreviewPngs, e.g. relayed from a queue worker) over `<dir>/preview-<candidate>.png`. */
export async function writePreviewPngs(
  dir: string,
  previews: readonly { candidate: number; png: Uint8Array }[],
): Promise<{ candidate: number; file: string }[]> {
  return Promise.all(
    previews.map(async ({ candidate, png }) => {
      const file = previewImageName(candidate);
      const path = join(dir, file);
      await writeFileAtomic(path, png).catch((error: unknown) => {
        throw new PmgError('file-system', `cannot write the preview ${path}: ${(error as Error).message}`, { cause: error, details: { path } });
      });
      return { candidate, file };
    }),
  );
}
