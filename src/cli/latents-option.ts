/**
 * `--latents FILE.npy` (txt2img, generate): float32 latents [batch, 4, height/8, width/8] read before any model
 * loads, with the file's path and sha256 for the generation record. The batch is one row per image (candidate) or
 * one row shared by all. Errors are one line naming the file, the shape it has and the shape the flags ask for.
 */
import { readNpyFloat32 } from '../core/npy.js';
import { PmgError } from '../errors/pmg-error.js';
import type { LatentsSource } from '../pipeline/generation-record.js';
import { latentsProblem } from '../pipeline/text-to-image.js';
import type { FloatTensor } from '../spec/tensor.js';

export interface LatentsFor {
  /** Images (txt2img --batch) or candidates (generate) that start from the latents. */
  count: number;
  width: number;
  height: number;
  /** How the count reads in a message, e.g. '--batch 2' or '2 candidate(s)'. */
  countFlags: string;
}

export function readLatentsOption(path: string, target: LatentsFor): { tensor: FloatTensor; source: LatentsSource } {
  const npy = readNpyFloat32(path, `--latents ${path}`);
  const tensor = { data: npy.data, dims: npy.shape };
  const problem = latentsProblem(tensor, target.count, target.width, target.height);
  if (problem) {
    throw new PmgError('invalid-input', `--latents ${path} ${problem} for ${target.countFlags} --width ${target.width} --height ${target.height}`, {
      details: { file: path, shape: npy.shape },
    });
  }
  return { tensor, source: { file: path, sha256: npy.sha256 } };
}
