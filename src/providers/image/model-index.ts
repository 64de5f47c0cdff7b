/**
 * `model_index.json` of a diffusers folder, checked whenever it is there (whatever scheduler is chosen):
 * a JSON object with a `_class_name` string, whose component entries are `[library, class]` pairs
 * (`[null, null]` or `null` for a component the pipeline goes without, e.g. the safety checker), and
 * whose components that pmg loads exist as folders. Other keys (`_diffusers_version`,
 * `requires_safety_checker`, ...) are settings and are left alone.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseJson } from '../../core/json-text.js';
import { PmgError } from '../../errors/pmg-error.js';

/** Components pmg loads from their folder; tokenizer/ and scheduler/ may fall back to the base model's. */
export const SD_LOADED_COMPONENTS = ['text_encoder', 'unet', 'vae_decoder'] as const;

export interface ModelIndex {
  className: string;
  /** Component name → [library, class]; null for a component the model goes without. */
  components: Record<string, [string, string] | null>;
}

/** Reads and checks `<dir>/model_index.json`; undefined when the folder has none. */
export function checkModelIndex(dir: string, modelName: string): ModelIndex | undefined {
  const path = join(dir, 'model_index.json');
  if (!existsSync(path)) return undefined;
  const parsed = parseJson(readFileSync(path, 'utf8'), `model ${modelName}: ${path}`);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PmgError('model-layout', `model ${modelName}: ${path} must be a JSON object, got ${describe(parsed)}`, { details: { dir, file: path } });
  }
  const raw = parsed as Record<string, unknown>;
  const bad = (key: string, rule: string, value: unknown): never => {
    throw new PmgError(
      'model-layout',
      `model ${modelName}: ${path}: "${key}" ${rule}, got ${describe(value)}; fix the file or export the model again with diffusers`,
      {
        details: { dir, file: path, field: key },
      },
    );
  };
  const className = raw._class_name;
  if (typeof className !== 'string' || className.trim() === '') bad('_class_name', 'must be the pipeline class name (a string)', className);
  const components: ModelIndex['components'] = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('_') || !Array.isArray(value)) continue;
    const pair = value as unknown[];
    const strings = pair.length === 2 && pair.every((part) => typeof part === 'string' && part !== '');
    const empty = pair.length === 2 && pair.every((part) => part === null);
    if (!strings && !empty) bad(key, 'must be a component entry ["library", "class"] (or [null, null])', value);
    components[key] = strings ? [pair[0] as string, pair[1] as string] : null;
  }
  for (const key of SD_LOADED_COMPONENTS) {
    if (!(key in raw)) continue;
    const value = raw[key];
    if (value === null || components[key] === null) bad(key, `must name the component pmg loads from ${key}/ (it cannot go without one)`, value);
    if (!(key in components)) bad(key, 'must be a component entry ["library", "class"]', value);
    const folder = join(dir, key);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) {
      throw new PmgError('model-file-missing', `model ${modelName}: ${path} names "${key}" but ${folder} is not a folder; the model is incomplete`, {
        details: { dir, file: path, field: key },
      });
    }
  }
  return { className: className as string, components };
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
