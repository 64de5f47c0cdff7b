/**
 * `soft_config.json`, the description half of a soft module folder (soft-module.ts has the weights half): the sizes
 * (P prefix positions, N multimodal tokens), the LLM the module belongs to (its shape, id and weight fingerprint),
 * the generator's text width and family, the soft prompt template and its version, and how the weights were made.
 * `readSoftConfig` checks every field and names the file and the field in one line when one is wrong.
 */
import { readFileSync } from 'node:fs';
import { parseJson } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';
import { scenes, type Scene } from '../spec/behaviour.js';

export const SOFT_FORMAT = 'pmg-soft-module';
export const SOFT_FORMAT_VERSION = 1;
export const SOFT_CONFIG_FILE = 'soft_config.json';
export const SOFT_WEIGHTS_FILE = 'soft.safetensors';

/** 'none': the prefix table is stored as is; 'mlp': P-Tuning v2's PrefixEncoder (embedding -> Linear -> tanh -> Linear). */
export type Reparameterisation = 'none' | 'mlp';
export const reparameterisations: readonly Reparameterisation[] = ['none', 'mlp'];

/** SD 1.x conditions on 768-wide text embeddings, SD 2.x on 1024-wide ones. */
export type GeneratorFamily = 'sd1' | 'sd2';

/** How the weights were made: `init` (random, `pmg soft init`), `import` (`pmg soft import`), or a trainer's name. */
export type TrainedWith = 'init' | 'import' | (string & {});

/** The soft prompt template of a scene (assets/prompts/<scene>-soft.json). */
export type SoftTemplateName = `${Scene}-soft`;

export interface SoftConfig {
  format: typeof SOFT_FORMAT;
  formatVersion: typeof SOFT_FORMAT_VERSION;
  /** Prefix positions per layer (P-Tuning v2's pre_seq_len); 0: no prefix. */
  P: number;
  /** Multimodal tokens appended after the soft prompt, and soft tokens given to the generator. */
  N: number;
  /** The LLM's shape: residual width, layers, key/value heads and head size. */
  hidden: number;
  layers: number;
  kvHeads: number;
  headDim: number;
  /** The generator's text-embedding width (768: SD 1.x, 1024: SD 2.x). */
  condWidth: number;
  reparameterisation: Reparameterisation;
  /** Width of the reparameterisation MLP's hidden layer ('mlp' only). */
  prefixHidden?: number;
  /** The LLM body the module was made for: its id as given (folder or repo id) and its weight fingerprint. */
  llm: { id: string; fingerprint: string };
  generator: { family: GeneratorFamily; id?: string };
  template: { name: SoftTemplateName; version: string };
  trainedWith: TrainedWith;
  /** Seed of `pmg soft init`. */
  seed?: number;
  /** The file `pmg soft import` read (its base name). */
  importedFrom?: string;
}

/** The width of one prefix row: layers · 2 · kvHeads · headDim (key and value of every layer). */
export function prefixWidth(config: Pick<SoftConfig, 'layers' | 'kvHeads' | 'headDim'>): number {
  return config.layers * 2 * config.kvHeads * config.headDim;
}

export function generatorFamily(condWidth: number): GeneratorFamily {
  return condWidth >= 1024 ? 'sd2' : 'sd1';
}

export function familyLabel(family: GeneratorFamily): string {
  return family === 'sd2' ? 'SD 2.x' : 'SD 1.x';
}

export function softTemplateName(scene: Scene): SoftTemplateName {
  return `${scene}-soft`;
}

/** Check a parsed soft_config.json (`source` names it in errors). */
export function checkSoftConfig(raw: unknown, source: string): SoftConfig {
  const bad = (field: string, what: string): never => {
    throw new PmgError('invalid-input', `${source}: "${field}" ${what}`, { details: { file: source, field } });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new PmgError('invalid-input', `${source} must be a JSON object`, { details: { file: source } });
  const c = raw as Record<string, unknown>;
  if (c.format !== SOFT_FORMAT) bad('format', `must be "${SOFT_FORMAT}", got ${JSON.stringify(c.format)}`);
  if (c.formatVersion !== SOFT_FORMAT_VERSION) bad('formatVersion', `is ${JSON.stringify(c.formatVersion)}; this pmg reads version ${SOFT_FORMAT_VERSION}`);
  const count = (field: string, min: number): number => {
    const v = c[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) bad(field, `must be a whole number >= ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const P = count('P', 0);
  const N = c.N === 0 ? bad('N', 'is 0: a soft module needs at least one multimodal token (N >= 1)') : count('N', 1);
  const hidden = count('hidden', 1);
  const layers = count('layers', 1);
  const kvHeads = count('kvHeads', 1);
  const headDim = count('headDim', 1);
  const condWidth = count('condWidth', 1);
  const reparameterisation = c.reparameterisation as Reparameterisation;
  if (!reparameterisations.includes(reparameterisation))
    bad('reparameterisation', `must be ${reparameterisations.join(' or ')}, got ${JSON.stringify(c.reparameterisation)}`);
  const config: SoftConfig = {
    format: SOFT_FORMAT,
    formatVersion: SOFT_FORMAT_VERSION,
    P,
    N,
    hidden,
    layers,
    kvHeads,
    headDim,
    condWidth,
    reparameterisation,
    llm: { id: '', fingerprint: '' },
    generator: { family: generatorFamily(condWidth) },
    template: { name: 'movie-soft', version: '' },
    trainedWith: '',
  };
  if (reparameterisation === 'mlp') config.prefixHidden = count('prefixHidden', 1);
  const llm = c.llm as Record<string, unknown> | undefined;
  if (typeof llm !== 'object' || llm === null) return bad('llm', 'must be an object { "id", "fingerprint" }');
  if (typeof llm.id !== 'string' || !llm.id) bad('llm.id', 'must be a non-empty string');
  if (typeof llm.fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(llm.fingerprint)) bad('llm.fingerprint', 'must be a sha256 in hex (64 characters)');
  config.llm = { id: llm.id as string, fingerprint: llm.fingerprint as string };
  const generator = c.generator as Record<string, unknown> | undefined;
  if (typeof generator !== 'object' || generator === null) return bad('generator', 'must be an object { "family" }');
  if (generator.family !== generatorFamily(condWidth))
    bad('generator.family', `must be "${generatorFamily(condWidth)}" for condWidth ${condWidth}, got ${JSON.stringify(generator.family)}`);
  if (generator.id !== undefined && typeof generator.id !== 'string') bad('generator.id', 'must be a string');
  config.generator = { family: generatorFamily(condWidth), ...(typeof generator.id === 'string' ? { id: generator.id } : {}) };
  const template = c.template as Record<string, unknown> | undefined;
  if (typeof template !== 'object' || template === null) return bad('template', 'must be an object { "name", "version" }');
  const names = scenes.map(softTemplateName);
  if (!names.includes(template.name as SoftTemplateName)) bad('template.name', `must be one of ${names.join(', ')}, got ${JSON.stringify(template.name)}`);
  if (typeof template.version !== 'string' || !template.version) bad('template.version', 'must be a non-empty string');
  config.template = { name: template.name as SoftTemplateName, version: template.version as string };
  if (typeof c.trainedWith !== 'string' || !c.trainedWith) bad('trainedWith', 'must be a non-empty string (init, import, or the trainer)');
  config.trainedWith = c.trainedWith as string;
  if (c.seed !== undefined) config.seed = count('seed', 0);
  if (c.importedFrom !== undefined) {
    if (typeof c.importedFrom !== 'string') bad('importedFrom', 'must be a string');
    config.importedFrom = c.importedFrom as string;
  }
  return config;
}

/** Read and check `<dir>/soft_config.json`. */
export function readSoftConfig(file: string): SoftConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PmgError(
      'file-not-found',
      `soft module config ${file} does not exist or cannot be read; a soft module folder holds ${SOFT_CONFIG_FILE} and ${SOFT_WEIGHTS_FILE}`,
      { cause: error, details: { file } },
    );
  }
  return checkSoftConfig(parseJson(text, file), file);
}

/** soft_config.json's text (fields in a fixed order, two-space indent, final newline). */
export function softConfigJson(config: SoftConfig): string {
  const ordered: Record<string, unknown> = {
    format: config.format,
    formatVersion: config.formatVersion,
    P: config.P,
    N: config.N,
    hidden: config.hidden,
    layers: config.layers,
    kvHeads: config.kvHeads,
    headDim: config.headDim,
    condWidth: config.condWidth,
    reparameterisation: config.reparameterisation,
    ...(config.prefixHidden !== undefined ? { prefixHidden: config.prefixHidden } : {}),
    llm: config.llm,
    generator: config.generator,
    template: config.template,
    trainedWith: config.trainedWith,
    ...(config.seed !== undefined ? { seed: config.seed } : {}),
    ...(config.importedFrom !== undefined ? { importedFrom: config.importedFrom } : {}),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}
