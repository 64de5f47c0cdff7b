/**
 * A new soft module for an LLM body and a generator (`pmg soft init`), initialised as the paper's code does:
 * the prefix table (or, with the MLP reparameterisation, its embedding) like nn.Embedding, N(0, 1); the multimodal
 * tokens like `torch.randn`, N(0, 1); every Linear (the map, the MLP's two layers) with PyTorch's default init,
 * kaiming-uniform with a = √5, which is U(−1/√fan_in, 1/√fan_in) for the weight and the same bound for the bias.
 * The numbers come from pmg's seeded generator (core/random.ts), not torch's: a seed gives the same module on every
 * machine, not the module torch would draw.
 */
import { SeededRandom } from '../core/random.js';
import { PmgError } from '../errors/pmg-error.js';
import type { Scene } from '../spec/behaviour.js';
import type { LlmBody } from '../spec/llm-body.js';
import { generatorFamily, prefixWidth, SOFT_FORMAT, SOFT_FORMAT_VERSION, softTemplateName, type SoftConfig } from './soft-config.js';
import type { SoftTensors } from './soft-module.js';

/** The paper's official sizes (method.md §3): P = 4 prefix positions, N = 4 multimodal tokens. */
export const DEFAULT_PREFIX = 4;
export const DEFAULT_TOKENS = 4;
export const MAX_PREFIX = 256;
export const MAX_TOKENS = 256;

export interface SoftModuleTarget {
  /** The LLM body: its id, shape and fingerprint (an LlmBody, or the same fields). */
  body: Pick<LlmBody, 'id' | 'config' | 'fingerprint'>;
  /** The generator's text width (768: SD 1.x, 1024: SD 2.x), and its id for the record. */
  condWidth: number;
  generatorId?: string;
  scene: Scene;
  /** Version of the scene's soft prompt template (assets/prompts/<scene>-soft.json). */
  templateVersion: string;
}

export interface SoftInitOptions extends SoftModuleTarget {
  P?: number;
  N?: number;
  seed?: number;
  /** P-Tuning v2's two-layer MLP reparameterisation of the prefix. */
  mlp?: boolean;
  /** Width of the MLP's hidden layer (default: the LLM's hidden width). */
  prefixHidden?: number;
}

/** Check P and N (one line naming the flag). */
export function checkSoftSizes(P: number, N: number): void {
  if (!Number.isInteger(P) || P < 0 || P > MAX_PREFIX)
    throw new PmgError('invalid-argument', `P must be a whole number from 0 to ${MAX_PREFIX} (prefix positions per layer), got ${P}`, {
      details: { field: 'P' },
    });
  if (!Number.isInteger(N) || N < 1 || N > MAX_TOKENS) {
    throw new PmgError(
      'invalid-argument',
      `N must be a whole number from 1 to ${MAX_TOKENS} (multimodal tokens; N = 0 gives the generator nothing), got ${N}`,
      { details: { field: 'N' } },
    );
  }
}

/** The config of a module for `target` with these sizes. */
export function softConfigFor(target: SoftModuleTarget, sizes: { P: number; N: number; prefixHidden?: number }, trainedWith: string): SoftConfig {
  const { config } = target.body;
  if (!Number.isInteger(target.condWidth) || target.condWidth < 1)
    throw new PmgError('invalid-argument', `generator text width must be a whole number >= 1, got ${target.condWidth}`);
  return {
    format: SOFT_FORMAT,
    formatVersion: SOFT_FORMAT_VERSION,
    P: sizes.P,
    N: sizes.N,
    hidden: config.hidden,
    layers: config.layers,
    kvHeads: config.kvHeads,
    headDim: config.headDim,
    condWidth: target.condWidth,
    reparameterisation: sizes.prefixHidden !== undefined ? 'mlp' : 'none',
    ...(sizes.prefixHidden !== undefined ? { prefixHidden: sizes.prefixHidden } : {}),
    llm: { id: target.body.id, fingerprint: target.body.fingerprint },
    generator: { family: generatorFamily(target.condWidth), ...(target.generatorId ? { id: target.generatorId } : {}) },
    template: { name: softTemplateName(target.scene), version: target.templateVersion },
    trainedWith,
  };
}

/** A freshly initialised module's config and tensors (see the header). */
export function initSoftModule(options: SoftInitOptions): { config: SoftConfig; tensors: SoftTensors } {
  const P = options.P ?? DEFAULT_PREFIX;
  const N = options.N ?? DEFAULT_TOKENS;
  checkSoftSizes(P, N);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new PmgError('invalid-argument', `seed must be a whole number >= 0, got ${seed}`, { details: { field: 'seed' } });
  const hidden = options.body.config.hidden;
  const prefixHidden = options.mlp ? (options.prefixHidden ?? hidden) : undefined;
  if (prefixHidden !== undefined && (!Number.isInteger(prefixHidden) || prefixHidden < 1))
    throw new PmgError('invalid-argument', `prefixHidden must be a whole number >= 1, got ${prefixHidden}`, { details: { field: 'prefixHidden' } });
  const config = { ...softConfigFor(options, { P, N, ...(prefixHidden !== undefined ? { prefixHidden } : {}) }, 'init'), seed };
  const random = new SeededRandom(seed);
  const normal = (count: number): Float32Array => random.fillGaussian(new Float32Array(count));
  const linear = (outputs: number, inputs: number): { weight: Float32Array; bias: Float32Array } => {
    const bound = 1 / Math.sqrt(inputs);
    return {
      weight: random.fillUniform(new Float32Array(outputs * inputs), -bound, bound),
      bias: random.fillUniform(new Float32Array(outputs), -bound, bound),
    };
  };
  const width = prefixWidth(config);
  let prefix: Pick<SoftTensors, 'prefix' | 'mlp'>;
  if (prefixHidden !== undefined) {
    const embedding = normal(P * hidden);
    const first = linear(prefixHidden, hidden);
    const second = linear(width, prefixHidden);
    prefix = { mlp: { embedding, weight0: first.weight, bias0: first.bias, weight2: second.weight, bias2: second.bias } };
  } else {
    prefix = { prefix: normal(P * width) };
  }
  const tokens = normal(N * hidden);
  const map = linear(config.condWidth, hidden);
  return { config, tensors: { ...prefix, tokens, mapWeight: map.weight, mapBias: map.bias } };
}
