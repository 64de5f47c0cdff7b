/**
 * scheduler_config.json parsing: defaults filled from diffusers' defaults for the class, values checked,
 * keys that belong to no known scheduler reported through `warn` (diffusers logs them too), keys that belong to
 * another scheduler class dropped quietly (diffusers does the same for "compatible" classes).
 */
import { parseJsonText } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';

export type ConfigValue = number | string | boolean | null | number[];

/** What a scheduler class accepts: its defaults, the allowed strings per key, and the type of keys whose default is null. */
export interface ConfigSchema {
  className: string;
  defaults: Readonly<Record<string, ConfigValue>>;
  choices?: Readonly<Record<string, readonly string[]>>;
  /** For keys whose default is null: the type a non-null value must have. */
  nullable?: Readonly<Record<string, 'number' | 'string' | 'number[]'>>;
  /** Keys that must be positive integers. */
  integers?: readonly string[];
}

export interface ParseOptions {
  /** Receives one line per ignored key. */
  warn?: (message: string) => void;
  /** Keys that other scheduler classes know: dropped without a warning. */
  compatibleKeys?: ReadonlySet<string>;
}

/** Parse a raw config into a filled one (keys in the schema's order, `_class_name` first). */
export function parseSchedulerConfig(schema: ConfigSchema, raw: Record<string, unknown>, options: ParseOptions = {}): Record<string, ConfigValue> {
  const out: Record<string, ConfigValue> = { _class_name: schema.className };
  for (const [key, fallback] of Object.entries(schema.defaults)) {
    out[key] = key in raw && raw[key] !== undefined ? checkValue(schema, key, raw[key], fallback) : cloneValue(fallback);
  }
  for (const key of Object.keys(raw)) {
    if (key in schema.defaults || key.startsWith('_')) continue;
    if (options.compatibleKeys?.has(key)) continue;
    options.warn?.(`scheduler config: ignoring unknown key '${key}' for ${schema.className}`);
  }
  return out;
}

function cloneValue(value: ConfigValue): ConfigValue {
  return Array.isArray(value) ? [...value] : value;
}

function checkValue(schema: ConfigSchema, key: string, value: unknown, fallback: ConfigValue): ConfigValue {
  const where = `scheduler config '${key}' (${schema.className})`;
  const bad = (expected: string): never => {
    throw new PmgError('invalid-input', `${where} must be ${expected}, got ${JSON.stringify(value)}`, { details: { field: key, value } });
  };
  if (value === null) {
    if (fallback === null) return null;
    return bad(describe(fallback));
  }
  const kind =
    fallback === null ? (schema.nullable?.[key] ?? 'any') : Array.isArray(fallback) ? 'number[]' : (typeof fallback as 'number' | 'string' | 'boolean');
  if (kind === 'any') return value as ConfigValue;
  if (kind === 'number[]') {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'number' || !Number.isFinite(v))) bad('an array of numbers');
    return [...(value as number[])];
  }
  if (kind === 'number') {
    // -inf is written as the string "-inf" by some exporters; JSON itself cannot hold it.
    if (value === '-inf' || value === '-Infinity') return -Infinity;
    if (value === 'inf' || value === 'Infinity') return Infinity;
    if (value === 'NaN') return bad('a number');
    if (typeof value !== 'number' || Number.isNaN(value)) return bad('a number');
    if (schema.integers?.includes(key) && (!Number.isInteger(value) || value < 1)) bad('a positive integer');
    return value;
  }
  if (kind === 'boolean') {
    if (typeof value !== 'boolean') bad('true or false');
    return value as boolean;
  }
  if (typeof value !== 'string') return bad('a string');
  const allowed = schema.choices?.[key];
  if (allowed && !allowed.includes(value)) bad(`one of ${allowed.map((c) => `'${c}'`).join(', ')}`);
  return value;
}

function describe(value: ConfigValue): string {
  if (Array.isArray(value)) return 'an array of numbers';
  if (typeof value === 'boolean') return 'true or false';
  return `a ${typeof value}`;
}

/** The noise-schedule keys every scheduler class starts with, in diffusers' order, with DDPM's linear betas. */
export const NOISE_SCHEDULE_DEFAULTS = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
} as const satisfies Readonly<Record<string, ConfigValue>>;

/** Choices shared by several schedulers. */
export const COMMON_CHOICES = {
  beta_schedule: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  prediction_type: ['epsilon', 'v_prediction', 'sample'],
  timestep_spacing: ['leading', 'trailing', 'linspace'],
} as const;

/** Throw 'unsupported' for a valid diffusers option this implementation does not have. */
export function unsupported(className: string, key: string, value: unknown, what: string): never {
  throw new PmgError('unsupported', `scheduler config '${key}' = ${JSON.stringify(value)} is not supported by pmg's ${className}; ${what}`, {
    details: { field: key, value },
  });
}

/**
 * Parse scheduler_config.json text. Python's json module writes -Infinity/Infinity/NaN bare (e.g. DPM-Solver's
 * lambda_min_clipped); JSON.parse rejects them, so they are read as strings that the config parser understands.
 */
export function parseSchedulerConfigText(text: string, file = 'scheduler_config.json'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    try {
      value = parseJsonText(text.replace(/([:[,]\s*)(-?Infinity|NaN)(?=\s*[,}\]])/g, '$1"$2"'));
    } catch (error) {
      throw new PmgError('invalid-input', `${file} is not valid JSON: ${(error as Error).message}`, { cause: error, details: { file } });
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PmgError('invalid-input', `${file} must hold a JSON object`, { details: { file } });
  }
  return value as Record<string, unknown>;
}

/** A scheduler config as scheduler_config.json text that diffusers reads back (infinities written bare, as Python does). */
export function schedulerConfigToText(config: Readonly<Record<string, unknown>>): string {
  const marker = '__pmg_non_finite__:';
  const text = JSON.stringify(config, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `${marker}${v}` : v), 2);
  return text.replace(new RegExp(`"${marker}(-?Infinity|NaN)"`, 'g'), '$1') + '\n';
}
