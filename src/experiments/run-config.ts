/**
 * What an eval run is: the dataset and protocol, the methods, α values, metrics, seeds and models.
 * Stored in `<out>/run.sqlite` on the first start and compared on every resume, so a run is never
 * continued with other settings by accident.
 */
import type { PromptStyleName } from '../personalize/prompt-styles.js';
import type { DecoderKind } from '../spec/diffusion-models.js';
import type { EvalSampleSource } from './eval-samples.js';

/** The methods an eval compares (the same names as personalize's `PersonalizeMethod`; 'soft' needs a soft module). */
export type EvalMethod = 'target-only' | 'keywords' | 'soft' | 'pmg';
export const EVAL_METHODS: readonly EvalMethod[] = ['target-only', 'keywords', 'soft', 'pmg'];
/** What `pmg eval` runs without --methods (the methods that need no soft module). */
export const DEFAULT_EVAL_METHODS: readonly EvalMethod[] = ['target-only', 'keywords', 'pmg'];

/**
 * The soft module of a run (`--soft`): its folder and fingerprint (so a resume with another module's weights is
 * refused), its sizes, w_s and the LLM body that computes the tokens. Used by the soft rows and added to the pmg rows.
 */
export interface EvalSoftConfig {
  module: string;
  fingerprint: string;
  P: number;
  N: number;
  weight: number;
  llmBody: string;
  allowLlmMismatch?: boolean;
}

export interface EvalModelConfig {
  /** `--models`: a folder laid out like `pmg models fixtures` writes it, or a preset name. */
  models?: string;
  llm?: string;
  llmModel?: string;
  /** `--decoder`: a tiny autoencoder decoder (folder or hub id), or 'none'. */
  decoder?: string;
  /** `--generator`: the remote image generator (a1111:URL, comfyui:URL) that made the images. */
  generator?: string;
  /** `--metrics-models`: a folder with lpips/, clip/ (and dino/) sub-folders. */
  metricsModels?: string;
}

export interface EvalConfig extends EvalSampleSource {
  /** Seed of the dataset protocol (splits, random targets). */
  sampleSeed: number;
  methods: EvalMethod[];
  /** α values of method 'pmg' (ascending, distinct). */
  alphas: number[];
  /** Metric names (see eval-metrics.ts). */
  metrics: string[];
  /** Generation seed, the same for every sample and method. */
  seed: number;
  steps?: number;
  /** Output side in pixels (square); default: the preset's or the pipeline's. */
  size?: number;
  /** Negative prompts and sticker prefix (prompt-styles.ts); default: the preset's, else 'pmg'. */
  promptStyle?: PromptStyleName;
  /** `--final-decoder`: which decoder makes the images (default: the model set's, see model-set.ts). */
  finalDecoder?: DecoderKind;
  /**
   * VAE tiling asked for explicitly ('on' or 'off'; tiled pixels differ near the seams). Absent: 'auto', tiles only
   * when the memory budget requires them. The budget itself is not part of the config: it never changes a result.
   */
  vaeTiling?: 'on' | 'off';
  models: EvalModelConfig;
  soft?: EvalSoftConfig;
}

/** Canonical JSON (sorted keys, undefined dropped) so equal configs compare equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** The fields (dotted paths) whose values differ, each as `field (was X, now Y)`. */
export function configDifferences(stored: EvalConfig, current: EvalConfig): string[] {
  const a = sortKeys(stored) as Record<string, unknown>;
  const b = sortKeys(current) as Record<string, unknown>;
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    const isObj = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
    if (isObj(x) && isObj(y)) {
      const keys = [...new Set([...Object.keys(x as object), ...Object.keys(y as object)])].sort();
      for (const k of keys) walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      return;
    }
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${path} (was ${show(x)}, now ${show(y)})`);
  };
  walk(a, b, '');
  return out;
}

function show(value: unknown): string {
  if (value === undefined) return 'unset';
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'string' ? value : JSON.stringify(value);
}
