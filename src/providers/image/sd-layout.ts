/**
 * The diffusers ONNX folder layout of a Stable Diffusion model, and the checks that refuse
 * anything else with a message naming the expected layout (no guessing at other layouts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJsonText } from '../../core/json-text.js';
import { PmgError } from '../../errors/pmg-error.js';
import { checkModelIndex } from './model-index.js';

/** The three ONNX graphs of a Stable Diffusion folder. */
export const SD_ONNX_GRAPHS = ['text_encoder/model.onnx', 'unet/model.onnx', 'vae_decoder/model.onnx'] as const;

/** Files a Stable Diffusion ONNX folder must have. */
export const SD_REQUIRED_FILES = ['model_index.json', ...SD_ONNX_GRAPHS] as const;

/**
 * Files some hub exports leave out: without them the base model's tokenizer and a built-in scheduler
 * config of the family are used (sd-fallbacks.ts), with a warning.
 */
export const SD_FALLBACK_FILES = ['tokenizer/vocab.json', 'tokenizer/merges.txt', 'scheduler/scheduler_config.json'] as const;

/** Files used when present (the fallback files above, ONNX external-data sidecars, configs, tokenizer extras). */
export const SD_OPTIONAL_FILES = [
  ...SD_FALLBACK_FILES,
  'text_encoder/model.onnx.data',
  'text_encoder/model.onnx_data',
  'text_encoder/config.json',
  'unet/model.onnx.data',
  'unet/model.onnx_data',
  'unet/weights.pb',
  'unet/config.json',
  'vae_decoder/model.onnx.data',
  'vae_decoder/model.onnx_data',
  'vae_decoder/config.json',
  'vae/config.json',
  'tokenizer/tokenizer_config.json',
  'tokenizer/special_tokens_map.json',
] as const;

export const SD_LAYOUT_DESCRIPTION =
  'the diffusers ONNX layout: model_index.json, text_encoder/model.onnx, unet/model.onnx, vae_decoder/model.onnx (tokenizer/ and scheduler/ when missing come from the base model)';

/**
 * Throws `model-layout` for a folder in another layout, `model-file-missing` naming the first missing required
 * file, and checks model_index.json (model-index.ts). tokenizer/ and scheduler/ are not checked here: the
 * loader falls back to the base model's.
 */
export function checkSdLayout(dir: string, modelName: string): void {
  if (!existsSync(dir)) throw new PmgError('model-not-found', `model folder ${dir} does not exist`, { details: { dir } });
  const top = safeList(dir);
  const rootOnnx = top.filter((name) => name.endsWith('.onnx'));
  if (!existsSync(join(dir, 'unet', 'model.onnx'))) {
    if (rootOnnx.length > 0) {
      throw new PmgError(
        'model-layout',
        `model ${modelName} has ${rootOnnx.join(', ')} at its top level, which pmg does not load; convert it to ${SD_LAYOUT_DESCRIPTION}`,
        {
          details: { dir, found: rootOnnx },
        },
      );
    }
    if (existsSync(join(dir, 'unet')) && safeList(join(dir, 'unet')).some((name) => /\.(safetensors|bin|ckpt)$/.test(name))) {
      throw new PmgError(
        'model-layout',
        `model ${modelName} holds PyTorch weights, not ONNX; pmg needs ${SD_LAYOUT_DESCRIPTION} (export it with optimum-cli export onnx)`,
        {
          details: { dir },
        },
      );
    }
    if (top.some((name) => /\.(zip|tar|tgz|gz|ckpt|safetensors)$/.test(name))) {
      throw new PmgError('model-layout', `model ${modelName} is a single archive or checkpoint, not a folder; pmg needs ${SD_LAYOUT_DESCRIPTION}`, {
        details: { dir },
      });
    }
  }
  for (const file of SD_REQUIRED_FILES) {
    if (!existsSync(join(dir, file))) {
      throw new PmgError('model-file-missing', `model ${modelName} lacks ${file} (in ${dir}); a Stable Diffusion model needs ${SD_LAYOUT_DESCRIPTION}`, {
        details: { dir, file },
      });
    }
  }
  checkModelIndex(dir, modelName);
}

export function readJsonFile(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PmgError('model-file-missing', `${what} lacks ${path}`, { cause: error, details: { path } });
  }
  try {
    const value = parseJsonText(text);
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new PmgError('invalid-input', `${path} of ${what} is not a JSON object: ${(error as Error).message}`, { cause: error, details: { path } });
  }
}

/** Parsed JSON of the first existing file, or undefined. */
export function readOptionalJson(paths: string[], what: string): { path: string; value: Record<string, unknown> } | undefined {
  for (const path of paths) if (existsSync(path)) return { path, value: readJsonFile(path, what) };
  return undefined;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
