/**
 * One training sample's loss and gradients (issue 12 §2; docs/training.md). The conditioning is
 * [text encoder states of the target text ; map(h)], h the LLM body's final-norm states at the N multimodal-token
 * positions; the loss is mean((UNet(noisy, t, conditioning) − target)²) (target: the noise, or v).
 *
 * Backward: the UNet's gradient graph (head 'mse', wrt encoder_hidden_states) gives g, the gradient at the soft rows;
 * the map's gradients follow in JS (map-gradient.ts). In the full variant h is recomputed from the current prefix and
 * tokens, and the LLM body's gradient graph (head 'cotangent', wrt inputs_embeds and past_key_values.*) takes the
 * cotangent g·W at those rows back to the tokens' rows of inputs_embeds and to the prefix cache; the cache's gradient
 * becomes the prefix table's (and the MLP's) in JS (soft-parameters.ts). In the map variant h is fixed per sample.
 */
import { SeededRandom } from '../core/random.js';
import { PmgError } from '../errors/pmg-error.js';
import type { LlmBodyLayout } from '../runtime/llm-body-layout.js';
import { prefixCacheOf } from '../soft/prefix-cache.js';
import type { SoftTensors } from '../soft/soft-module.js';
import type { GradientFeed, GradientGraphOptions, GradientSession } from '../spec/gradient.js';
import type { PrefixCache } from '../spec/llm-body.js';
import type { Unet } from '../spec/diffusion-models.js';
import type { FloatTensor } from '../spec/tensor.js';
import { addLinearGradients, linearInputGradients } from './map-gradient.js';
import { noiseLatents, type TrainNoiseSchedule } from './noising.js';
import { addPrefixGradients, prefixForward, prefixTableGradients, tensorsWith, trainsPrefix, type Params, type SoftShape } from './soft-parameters.js';
import { drawLatents, type LatentPosterior } from './vae-encoding.js';

/** Opens a GradientSession (spec/gradient.ts) on a model file: autodiff/gradient-session.ts's openGradientSession at run time. */
export type GradientFactory = (modelPath: string, options: GradientGraphOptions) => Promise<GradientSession>;

/** One prepared sample: its conditioning's frozen target part, what the LLM reads or read, its latents. */
export interface PreparedSample {
  id: string;
  /** [1, tokens, condWidth] or [tokens, condWidth]: the text encoder's states of the target text. */
  targetStates: FloatTensor;
  /** Map variant: the LLM states at the soft positions [N, hidden], computed once. */
  softStates?: Float32Array;
  /** Full variant: the embedding rows of the soft prompt's tokens [T, hidden]. */
  promptEmbeds?: Float32Array;
  posterior: LatentPosterior;
  /** Positions of targetStates from the start token to the end token (text-fit averages them). */
  targetTokens?: number;
}

/** The LLM body as the full variant uses it (OnnxLlmBody fits). */
export interface TrainingBody {
  layout: Pick<LlmBodyLayout, 'modelFile' | 'inputs' | 'outputs'>;
  forward(inputsEmbeds: FloatTensor, prefix?: PrefixCache): Promise<FloatTensor>;
}

/** What the loss of a sample needs besides the sample and the trained parameters. */
export interface LossContext {
  shape: SoftShape;
  /** The module's tensors at the start: the frozen ones are read from here. */
  tensors: SoftTensors;
  unet: Unet;
  noise: TrainNoiseSchedule;
  scalingFactor: number;
  /** Full variant only. */
  body?: TrainingBody;
}

/** A sample's random draws: latents from the posterior, timestep, noise, and the UNet's target. */
export interface Draw {
  noisy: FloatTensor;
  timestep: number;
  target: FloatTensor;
}

export function drawFor(context: Pick<LossContext, 'noise' | 'scalingFactor'>, sample: PreparedSample, seed: number): Draw {
  const random = new SeededRandom(seed);
  const noised = noiseLatents(drawLatents(sample.posterior, context.scalingFactor, random), context.noise, random);
  const dims = [1, ...sample.posterior.dims];
  return { noisy: { data: noised.noisy, dims }, timestep: noised.timestep, target: { data: noised.target, dims } };
}

export interface TrainSessions {
  unet: GradientSession;
  /** Full variant with trained tokens or prefix. */
  body?: GradientSession;
  close(): Promise<void>;
}

/** The gradient sessions a run needs: the UNet's always, the LLM body's when tokens or prefix are trained. */
export async function openTrainSessions(context: LossContext, unetPath: string, params: Params, gradients: GradientFactory): Promise<TrainSessions> {
  const unet = await gradients(unetPath, { wrt: ['encoder_hidden_states'], output: 'out_sample', head: 'mse' });
  const wrt = bodyWrt(context, params);
  let body: GradientSession | undefined;
  try {
    if (wrt.length) body = await gradients(context.body!.layout.modelFile, { wrt, output: context.body!.layout.outputs.hidden, head: 'cotangent' });
  } catch (error) {
    await unet.close();
    throw error;
  }
  return {
    unet,
    ...(body ? { body } : {}),
    close: async () => {
      await unet.close();
      await body?.close();
    },
  };
}

function bodyWrt(context: LossContext, params: Params): string[] {
  if (!context.body) return [];
  const { inputs } = context.body.layout;
  return [...('tokens' in params ? [inputs.embeds] : []), ...(trainsPrefix(params) ? [...inputs.pastKeys, ...inputs.pastValues] : [])];
}

interface SoftForward {
  /** [N, hidden]: what the map reads. */
  states: Float32Array;
  tensors: SoftTensors;
  inputs?: FloatTensor;
  cache?: PrefixCache;
  activations?: Float32Array;
}

async function softForward(context: LossContext, sample: PreparedSample, params: Params): Promise<SoftForward> {
  const tensors = tensorsWith(context.tensors, params);
  if (!context.body) {
    if (!sample.softStates) throw new PmgError('internal', `sample ${sample.id} has no cached LLM states (map variant)`);
    return { states: sample.softStates, tensors };
  }
  const { P, N, hidden } = context.shape;
  if (!sample.promptEmbeds) throw new PmgError('internal', `sample ${sample.id} has no prompt embeddings (full variant)`);
  const T = sample.promptEmbeds.length / hidden;
  const data = new Float32Array((T + N) * hidden);
  data.set(sample.promptEmbeds);
  data.set(tensors.tokens, T * hidden);
  const inputs = { data, dims: [1, T + N, hidden] };
  const prefix = P > 0 ? prefixForward(tensors, P) : undefined;
  const cache = prefix ? prefixCacheOf(prefix.table, P, context.shape) : undefined;
  const out = await context.body.forward(inputs, cache);
  return {
    states: out.data.slice(T * hidden, (T + N) * hidden),
    tensors,
    inputs,
    ...(cache ? { cache } : {}),
    ...(prefix?.activations ? { activations: prefix.activations } : {}),
  };
}

/** The conditioning [target states ; W·h + b], [1, tokens + N, condWidth]. */
export function conditioning(sample: PreparedSample, states: Float32Array, params: Params, N: number): FloatTensor {
  const dims = sample.targetStates.dims;
  const [tokens, width] = [dims[dims.length - 2]!, dims[dims.length - 1]!];
  const out = new Float32Array((tokens + N) * width);
  out.set(sample.targetStates.data);
  const weight = params['map.weight']!;
  const bias = params['map.bias']!;
  const hidden = weight.length / width;
  for (let r = 0; r < N; r++) {
    for (let o = 0; o < width; o++) {
      let sum = 0;
      for (let i = 0; i < hidden; i++) sum += weight[o * hidden + i]! * states[r * hidden + i]!;
      out[(tokens + r) * width + o] = sum + bias[o]!;
    }
  }
  return { data: out, dims: [1, tokens + N, width] };
}

/** The loss of one sample (forward only): validation, and the gradient tests' finite differences. */
export async function sampleLoss(context: LossContext, sample: PreparedSample, draw: Draw, params: Params): Promise<number> {
  const { states } = await softForward(context, sample, params);
  const predicted = await context.unet.predict(draw.noisy, draw.timestep, conditioning(sample, states, params, context.shape.N));
  let sum = 0;
  for (let i = 0; i < draw.target.data.length; i++) sum += (predicted.data[i]! - draw.target.data[i]!) ** 2;
  return sum / draw.target.data.length;
}

/** The loss of one sample; its gradients times `scale` are added to `grads` (shaped like the trained params). */
export async function addSampleGradients(
  context: LossContext,
  sessions: TrainSessions,
  sample: PreparedSample,
  draw: Draw,
  params: Params,
  grads: Params,
  scale: number,
): Promise<number> {
  const { N } = context.shape;
  const forward = await softForward(context, sample, params);
  const cond = conditioning(sample, forward.states, params, N);
  const run = await sessions.unet.run(
    { sample: draw.noisy, timestep: timestepFeed(context.unet, draw.timestep), encoder_hidden_states: cond },
    { target: draw.target },
  );
  const width = cond.dims[2]!;
  const tokens = cond.dims[1]! - N;
  const rowGrads = run.grads['encoder_hidden_states']!.data.slice(tokens * width, (tokens + N) * width);
  for (let i = 0; i < rowGrads.length; i++) rowGrads[i] = rowGrads[i]! * scale;
  addLinearGradients(grads['map.weight']!, grads['map.bias']!, rowGrads, forward.states, N);
  if (sessions.body && forward.inputs)
    await addBodyGradients(context, sessions.body, forward, linearInputGradients(rowGrads, N, params['map.weight']!, width), grads);
  return run.loss!;
}

/** The timestep as the UNet's graph takes it: int64 (Optimum), int32 or float32 (OnnxUnet reads the dtype). */
export function timestepFeed(unet: Unet, timestep: number): GradientFeed {
  const dtype = (unet as { timestepDtype?: string }).timestepDtype ?? 'int64';
  if (dtype === 'float32') return { data: Float32Array.of(timestep), dims: [1] };
  if (dtype === 'int32') return { data: Int32Array.of(timestep), dims: [1] };
  if (dtype === 'int64') return { data: BigInt64Array.of(BigInt(timestep)), dims: [1] };
  throw new PmgError('unsupported', `the UNet takes a ${dtype} timestep; training needs the fp32 export (timestep int64, int32 or float32)`);
}

/** Through the LLM body: the cotangent at the N soft rows → the tokens' rows of inputs_embeds and the prefix cache. */
async function addBodyGradients(context: LossContext, session: GradientSession, forward: SoftForward, stateGrads: Float32Array, grads: Params): Promise<void> {
  const { P, N, hidden, layers, kvHeads, headDim } = context.shape;
  const names = context.body!.layout.inputs;
  const inputs = forward.inputs!;
  const T = inputs.dims[1]! - N;
  const cotangent = new Float32Array(inputs.data.length);
  cotangent.set(stateGrads, T * hidden);
  const feeds: Record<string, GradientFeed> = {
    [names.embeds]: inputs,
    [names.mask]: { data: new BigInt64Array(P + T + N).fill(1n), dims: [1, P + T + N] },
  };
  if (names.positions) feeds[names.positions] = { data: BigInt64Array.from({ length: T + N }, (_, i) => BigInt(P + i)), dims: [1, T + N] };
  for (let l = 0; l < layers; l++) {
    const dims = [1, kvHeads, P, headDim];
    feeds[names.pastKeys[l]!] = forward.cache?.keys[l] ?? { data: new Float32Array(0), dims };
    feeds[names.pastValues[l]!] = forward.cache?.values[l] ?? { data: new Float32Array(0), dims };
  }
  const run = await session.run(feeds, { cotangent: { data: cotangent, dims: [...inputs.dims] } });
  if (grads['tokens']) {
    const embedsGrad = run.grads[names.embeds]!.data;
    const into = grads['tokens'];
    for (let i = 0; i < into.length; i++) into[i] = into[i]! + embedsGrad[T * hidden + i]!;
  }
  if (trainsPrefix(grads) && P > 0) {
    const cacheGrad: PrefixCache = { keys: names.pastKeys.map((n) => run.grads[n]!), values: names.pastValues.map((n) => run.grads[n]!) };
    addPrefixGradients(grads, prefixTableGradients(cacheGrad, context.shape), forward.tensors, P, forward.activations);
  }
}
