/**
 * The one module that drives @huggingface/transformers' loaders: from LOCAL folders in the transformers.js layout
 * only (downloads are the model store's job). transformers.js keeps its settings in a global `env`; it is set from
 * explicit arguments right before each load, and loads run one at a time so two folders never mix. Each
 * (folder, device, dtype) is loaded once per process. Internal: the package's public types never name these.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AutoTokenizer, env, type PreTrainedTokenizer, type Tensor } from '@huggingface/transformers';
import { PmgError } from '../errors/pmg-error.js';
import { requireModelFiles, type TransformersDtype } from './transformers-options.js';

const DTYPE_SUFFIX: Record<TransformersDtype, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

let queue: Promise<unknown> = Promise.resolve();

/** Run one transformers.js load with env pointing at the parent of `dir`, one load at a time. */
export function withLocalEnv<T>(dir: string, load: (modelId: string) => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = dirname(dir) + '/';
    try {
      return await load(basename(dir));
    } catch (error) {
      if (error instanceof PmgError) throw error;
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new PmgError('model-layout', `cannot load the model in ${dir}: ${message}`, { cause: error, details: { dir } });
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

const cache = new Map<string, Promise<unknown>>();

export function cached<T>(key: string, create: () => Promise<T>): Promise<T> {
  let entry = cache.get(key) as Promise<T> | undefined;
  if (!entry) {
    entry = create();
    cache.set(key, entry);
    entry.catch(() => cache.delete(key));
  }
  return entry;
}

export function onnxFile(name: string, dtype: TransformersDtype): string {
  return `onnx/${name}${DTYPE_SUFFIX[dtype]}.onnx`;
}

export function externalData(dir: string, file: string): boolean {
  return existsSync(join(dir, `${file}_data`)) || existsSync(join(dir, `${file}.data`));
}

export function loadTokenizer(dir: string): Promise<PreTrainedTokenizer> {
  const folder = resolve(dir);
  return cached(`tokenizer:${folder}`, async () => {
    requireModelFiles(folder, TOKENIZER_FILES, 'tokenizer');
    return withLocalEnv(folder, (id) => AutoTokenizer.from_pretrained(id, { local_files_only: true }));
  });
}

/** Rows of a [n, width] float tensor as separate arrays. */
export function tensorRows(tensor: Tensor): Float32Array[] {
  const [rows, width] = tensor.dims as number[];
  if (tensor.dims.length !== 2 || rows === undefined || width === undefined) {
    throw new PmgError('invalid-response', `expected a [batch, width] embedding tensor, got dims [${tensor.dims.join(', ')}]`);
  }
  const data = tensor.data as Float32Array;
  return Array.from({ length: rows }, (_, i) => Float32Array.from(data.subarray(i * width, (i + 1) * width)));
}
