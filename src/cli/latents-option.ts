/**
 * `--latents FILE.npy` (txt2img, generate): float32 latents [batch, 4, height/8, width/8] read before any model
 * loads, with the file's path and sha256 for the generation record. Errors are one line naming the file, the
 * shape it has and the shape the other flags ask for.
 */
import { readNpyFloat32 } from '../core/npy.js';
import { PmgError } from '../errors/pmg-error.js';
import type { LatentsSource } from '../pipeline/generation-record.js';
import type { FloatTensor } from '../spec/tensor.js';

export interface LatentsShape {
  /** The batch sizes allowed (txt2img: --batch; generate: the candidate count, or 1 shared by all). */
  batches: readonly number[];
  width: number;
  height: number;
  /** How the flags that set the batch read in a message, e.g. '--batch 2'. */
  flags: string;
}

export function readLatentsOption(path: string, shape: LatentsShape): { tensor: FloatTensor; source: LatentsSource } {
  const what = `--latents ${path}`;
  const npy = readNpyFloat32(path, what);
  const [h, w] = [shape.height / 8, shape.width / 8];
  const dims = npy.shape;
  if (dims.length !== 4 || !shape.batches.includes(dims[0]!) || dims[1] !== 4 || dims[2] !== h || dims[3] !== w) {
    const batch = shape.batches.join(' or ');
    throw new PmgError(
      'invalid-input',
      `${what} has shape [${dims.join(', ')}]; expected [${batch}, 4, ${h}, ${w}] (batch, channels, height/8, width/8) for ${shape.flags} --width ${shape.width} --height ${shape.height}`,
      { details: { file: path, shape: dims, expected: [shape.batches, 4, h, w] } },
    );
  }
  const bad = npy.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new PmgError('invalid-input', `${what} holds ${npy.data[bad]} at index ${bad}; every value must be finite`, { details: { file: path } });
  return { tensor: { data: npy.data, dims }, source: { file: path, sha256: npy.sha256 } };
}
