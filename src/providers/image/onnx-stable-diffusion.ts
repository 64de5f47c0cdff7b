/**
 * Loads a Stable Diffusion model in the diffusers ONNX layout (a local folder, or a hub id through
 * an injected resolver such as the model store) and returns the three networks behind the
 * pipeline's interfaces. Sessions come from a SessionPool, so each is created once per process.
 * A model without tokenizer/ or scheduler/ gets its base model's (see sd-fallbacks.ts), with a warning.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PmgError } from '../../errors/pmg-error.js';
import { ClipTokenizer } from '../../runtime/clip-tokenizer.js';
import { ensureFusedCopy } from '../../runtime/attention-copies.js';
import { ensureFp32Copies, onnxFileFor, precisionFileFor } from '../../runtime/fp32-copies.js';
import { defaultSessionPool, type ExecutionProvider, type OnnxSession, type SessionPool } from '../../runtime/onnx-session.js';
import type { StableDiffusionModel } from '../../spec/diffusion-models.js';
import { OnnxTextEncoder, OnnxUnet, OnnxVaeDecoder } from './onnx-sd-models.js';
import { unetMemoryProfile, vaeDecoderProfile, type ProfileContext } from './sd-memory-profiles.js';
import { fallbackSchedulerConfig, loadBaseTokenizer, missingTokenizerFiles, parsePredictionType, type ModelResolver } from './sd-fallbacks.js';
import { SD_ONNX_GRAPHS, SD_OPTIONAL_FILES, SD_REQUIRED_FILES, checkSdLayout, readJsonFile, readOptionalJson } from './sd-layout.js';

export type { ModelResolver } from './sd-fallbacks.js';

export interface LoadStableDiffusionOptions {
  /** Resolves hub ids (e.g. the model store); without one, only local folders load. */
  resolve?: ModelResolver;
  pool?: SessionPool;
  device?: ExecutionProvider;
  /** Intra-op threads per session (default: the machine's cores). */
  threads?: number;
  /** Where onnxruntime's optimized graphs of large models are saved and reused (e.g. the model cache folder). */
  optimizedCacheDir?: string;
  /**
   * On CPU, load the UNet and VAE decoder with their attention fused into onnxruntime's MultiHeadAttention kernel
   * when pmg made that copy (hub models: made once on first load; runtime/attention-copies.ts). Default true.
   */
  fuseAttention?: boolean;
  /** Receives non-fatal notes (e.g. a missing VAE config, or a tokenizer/scheduler taken from the base model). */
  warn?: (message: string) => void;
  /**
   * Tokenizer for a model without tokenizer/ (a folder or hub id, files at its top level or under tokenizer/).
   * Default: the family's base, SD1_BASE_TOKENIZER or SD2_BASE_TOKENIZER, fetched through `resolve`.
   */
  baseTokenizer?: string;
}

export interface OnnxStableDiffusion extends StableDiffusionModel {
  /** The three sessions (for run-time accounting in benchmarks). */
  readonly sessions: { textEncoder: OnnxSession; unet: OnnxSession; vaeDecoder: OnnxSession };
  readonly timestepDtype: string;
}

export const DEFAULT_VAE_SCALING_FACTOR = 0.18215;

/** The graphs whose attention is fused on CPU (the text encoder's is causal and masked: left as exported). */
export const FUSED_ATTENTION_GRAPHS = ['unet', 'vae_decoder'] as const;

/**
 * Fused-attention copies of the UNet and VAE decoder (runtime/attention-copies.ts), beside the graphs pmg loads on
 * CPU; once per model, then kept. A graph that cannot be rewritten loads as exported, with one note.
 */
export function fuseAttentionCopies(dir: string, id: string, warn: (message: string) => void): void {
  for (const part of FUSED_ATTENTION_GRAPHS) {
    const graph = precisionFileFor(join(dir, part, 'model.onnx'), 'cpu');
    if (!existsSync(graph)) continue;
    try {
      const result = ensureFusedCopy(graph);
      if (result.status === 'fused')
        warn(
          `model ${id}: ${part}: ${result.fusion!.fused} attention block(s) fused into onnxruntime's MultiHeadAttention kernel, once (copy beside the graph; same weights)`,
        );
    } catch (error) {
      warn(`model ${id}: ${part}: attention not fused (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); loading it as exported`);
    }
  }
}

export async function loadStableDiffusion(spec: string, options: LoadStableDiffusionOptions = {}): Promise<OnnxStableDiffusion> {
  const { dir, id, cached } = await resolveFolder(spec, options.resolve);
  checkSdLayout(dir, id);
  const warn = options.warn ?? (() => undefined);
  if (cached && (options.device ?? 'cpu') === 'cpu') {
    // A hub model exported in fp16: convert its graphs to fp32 once, beside them in the cache (fp32-copies.ts).
    try {
      ensureFp32Copies(dir, SD_ONNX_GRAPHS, (file) =>
        warn(`model ${id}: ${file} is fp16; writing its fp32 copy for CPU once (beside it in the cache; fp16 stays for CUDA)`),
      );
    } catch (error) {
      // A read-only cache or a graph the converter cannot rewrite: onnxruntime still runs the fp16 graph.
      warn(`model ${id}: no fp32 copy (${error instanceof Error ? error.message : String(error)}); loading the fp16 graphs as they are`);
    }
    if (options.fuseAttention !== false) fuseAttentionCopies(dir, id, warn);
  }
  const pool = options.pool ?? defaultSessionPool;
  const sessionOptions = {
    executionProvider: options.device ?? 'cpu',
    ...(options.threads ? { intraOpThreads: options.threads } : {}),
    ...(options.optimizedCacheDir ? { optimizedCacheDir: options.optimizedCacheDir } : {}),
  };

  const vaeConfig = readOptionalJson([join(dir, 'vae_decoder', 'config.json'), join(dir, 'vae', 'config.json')], `model ${id}`);
  let scalingFactor = DEFAULT_VAE_SCALING_FACTOR;
  if (vaeConfig && typeof vaeConfig.value.scaling_factor === 'number' && vaeConfig.value.scaling_factor > 0) scalingFactor = vaeConfig.value.scaling_factor;
  else warn(`model ${id} has no VAE scaling_factor in vae_decoder/config.json or vae/config.json; using ${DEFAULT_VAE_SCALING_FACTOR}`);

  // On CPU, fp16 graphs load from their fp32 copies, and attention from the fused copies, when pmg made them.
  const session = async (part: string): Promise<OnnxSession> => {
    const original = join(dir, part, 'model.onnx');
    const file = onnxFileFor(original, sessionOptions.executionProvider, { fusedAttention: options.fuseAttention !== false });
    const base = precisionFileFor(original, sessionOptions.executionProvider);
    if (file === base) return pool.get(file, sessionOptions);
    try {
      return await pool.get(file, sessionOptions);
    } catch (error) {
      warn(
        `model ${id}: ${part} with fused attention does not load (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); using the graph as exported`,
      );
      return pool.get(base, sessionOptions);
    }
  };
  const [textSession, unetSession, vaeSession] = await Promise.all([session('text_encoder'), session('unet'), session('vae_decoder')]);
  const hiddenSize = textWidth(textSession, dir, id);
  const family = hiddenSize >= 1024 ? 'sd2' : 'sd1';
  const fallback = { dir, id, family, hiddenSize, warn, resolve: options.resolve ?? localTokenizerResolver(id) } as const;

  const schedulerPath = join(dir, 'scheduler', 'scheduler_config.json');
  const schedulerConfig = existsSync(schedulerPath) ? readJsonFile(schedulerPath, `model ${id}`) : fallbackSchedulerConfig(fallback, unetSession);
  const predictionType = parsePredictionType(schedulerConfig.prediction_type, id);
  const missingTokenizer = missingTokenizerFiles(dir);
  const tokenizer =
    missingTokenizer.length === 0
      ? ClipTokenizer.fromFolder(join(dir, 'tokenizer'), `model ${id}'s tokenizer`)
      : await loadBaseTokenizer(fallback, missingTokenizer, options.baseTokenizer);
  const profileContext: ProfileContext = {
    dir,
    family,
    device: sessionOptions.executionProvider,
    floatType: unetSession.inputInfo('sample')?.type ?? 'float32',
  };
  const unet = new OnnxUnet(unetSession, unetMemoryProfile(profileContext));
  return {
    id,
    dir,
    family,
    predictionType,
    schedulerConfig,
    textEncoder: new OnnxTextEncoder(textSession, tokenizer, hiddenSize),
    unet,
    vaeDecoder: new OnnxVaeDecoder(
      vaeSession,
      scalingFactor,
      vaeDecoderProfile({ ...profileContext, floatType: vaeSession.inputInfo('latent_sample')?.type ?? 'float32' }),
    ),
    sessions: { textEncoder: textSession, unet: unetSession, vaeDecoder: vaeSession },
    timestepDtype: unet.timestepDtype,
  };
}

async function resolveFolder(spec: string, resolve: ModelResolver | undefined): Promise<{ dir: string; id: string; cached?: boolean }> {
  if (resolve) return resolve(spec, SD_REQUIRED_FILES, SD_OPTIONAL_FILES, 'model');
  return localResolver(spec);
}

/** Without a resolver only local folders load. */
async function localResolver(spec: string): Promise<{ dir: string; id: string }> {
  if (!existsSync(spec)) {
    throw new PmgError('model-not-found', `model ${spec} is not a local folder, and no model store was given to fetch it from the hub`, {
      details: { model: spec },
    });
  }
  return { dir: spec, id: spec };
}

function localTokenizerResolver(model: string): ModelResolver {
  return async (spec) => {
    if (existsSync(spec)) return { dir: spec, id: spec };
    throw new PmgError(
      'model-not-found',
      `model ${model} has no tokenizer/ and its base tokenizer ${spec} is not a local folder; load through a model store to fetch it, or give a tokenizer folder as baseTokenizer`,
      { details: { model, tokenizer: spec } },
    );
  };
}

/** The text width an SD folder's configs give (text_encoder hidden_size, else the UNet's cross_attention_dim), without loading a graph. */
export function textWidthFromConfigs(dir: string, id: string): number | undefined {
  const text = readOptionalJson([join(dir, 'text_encoder', 'config.json')], `model ${id}`)?.value;
  if (typeof text?.hidden_size === 'number') return text.hidden_size;
  const unet = readOptionalJson([join(dir, 'unet', 'config.json')], `model ${id}`)?.value;
  if (typeof unet?.cross_attention_dim === 'number') return unet.cross_attention_dim;
  return undefined;
}

/** Text width from the encoder's output metadata, else text_encoder/config.json, else unet/config.json. */
function textWidth(session: OnnxSession, dir: string, id: string): number {
  const last = session.outputInfo('last_hidden_state')?.shape?.at(-1);
  if (typeof last === 'number' && last > 0) return last;
  const configured = textWidthFromConfigs(dir, id);
  if (configured !== undefined) return configured;
  throw new PmgError(
    'model-layout',
    `model ${id}: cannot tell the text width (no numeric last axis on last_hidden_state, no hidden_size in text_encoder/config.json)`,
  );
}
