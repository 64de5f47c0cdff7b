/**
 * What every transformers.js loader takes, and the file check they share. Types only plus one check, with no
 * transformers.js types in them, so the package's public declarations never pull in transformers.js's own.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';

export type TransformersDevice = 'cpu' | 'cuda' | 'webgpu' | 'dml' | 'auto';
export type TransformersDtype = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'q4f16' | 'bnb4';

export interface TransformersLoadOptions {
  /** Execution device (default 'cpu'). */
  device?: TransformersDevice;
  /** Weight file variant: fp32 → model.onnx, q8 → model_quantized.onnx, ... (default 'fp32'). */
  dtype?: TransformersDtype;
}

/** Throw model-file-missing naming the folder and the first missing file. */
export function requireModelFiles(dir: string, files: readonly string[], what: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new PmgError('model-not-found', `${what} folder ${dir} does not exist; pass a folder in the transformers.js layout (or pull the model first)`, {
      details: { dir },
    });
  }
  for (const file of files) {
    if (!existsSync(join(dir, file))) {
      throw new PmgError('model-file-missing', `${what} folder ${dir} lacks ${file}; it needs ${files.join(', ')}`, {
        details: { dir, file, required: [...files] },
      });
    }
  }
}
