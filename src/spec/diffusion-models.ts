import type { FloatTensor } from './tensor.js';

/**
 * The three networks of a Stable Diffusion model, as the pipeline sees them. Implementations
 * (providers/image/onnx-stable-diffusion) wrap ONNX sessions; the pipeline never imports onnxruntime.
 */
export interface TextEncoder {
  /** Width of one token embedding (768 for SD 1.x, 1024 for SD 2.x). */
  readonly hiddenSize: number;
  /** Token window including start/end tokens (77). */
  readonly maxLength: number;
  /** Token ids of `text` without start/end tokens. */
  tokenize(text: string): number[];
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  /** Encode windows of exactly maxLength ids each: [n, maxLength] -> [n, maxLength, hiddenSize]. */
  encode(inputIds: number[][]): Promise<FloatTensor>;
}

/**
 * What the memory planner (pipeline/unet-slice-plan.ts) needs to know about a UNet; providers fill it from
 * unet/config.json and the weight files. The planner turns it into an estimate of the activation memory per batch row.
 */
export interface UnetMemoryProfile {
  device: 'cpu' | 'cuda';
  /** Bytes of the weight files (what the loaded UNet holds; on CUDA the device memory it takes). */
  weightBytes: number;
  /** Bytes per activation value: 4 (float32), 2 (float16 on CUDA). */
  activationBytes: number;
  /** Feature channels at the full latent resolution (SD 1.x/2.x: 320). */
  channels: number;
  /** Self-attention heads of each resolution level, full latent resolution first (0: no attention there). */
  attentionHeads: readonly number[];
  /** Where the figures came from, e.g. 'unet/config.json' (shown in verbose output). */
  source: string;
}

/** What the tiled decode and the memory planner need to know about a VAE decoder (AutoencoderKL-shaped). */
export interface VaeDecoderProfile {
  device: 'cpu' | 'cuda';
  /** Image side of one tile (diffusers' tile_sample_min_size: the VAE config's sample_size, 512 for SD 1.x). */
  tileSampleSize: number;
  /** Latent side of one tile (sample_size / 2^(len(block_out_channels) - 1), 64 for SD 1.x). */
  tileLatentSize: number;
  /** Channels at full image resolution (block_out_channels[0], 128 for SD) and whether the mid block has attention. */
  channels: number;
  midAttention: boolean;
  activationBytes: number;
  source: string;
}

export interface Unet {
  /** Latent channels (4). */
  readonly inChannels: number;
  /** For the memory planner; without it the UNet rows of a step run in one call. */
  readonly memoryProfile?: UnetMemoryProfile;
  /** sample [b, c, h, w], timestep, encoder hidden states [b, tokens, hidden] -> noise/v prediction [b, c, h, w]. */
  predict(sample: FloatTensor, timestep: number, encoderHiddenStates: FloatTensor): Promise<FloatTensor>;
}

export interface VaeDecoder {
  /** From the decoder's config: 0.18215 for the SD 1.x/2.x VAE, 1.0 for the tiny autoencoder (TAESD). */
  readonly scalingFactor: number;
  /** For tiled decoding and the memory planner; without it a decoder is never tiled automatically. */
  readonly profile?: VaeDecoderProfile;
  /** latents [b, 4, h/8, w/8] (already divided by scalingFactor) -> images [b, 3, h, w] in [-1, 1]. */
  decode(latents: FloatTensor): Promise<FloatTensor>;
}

/** A loaded Stable Diffusion model: the three networks plus what the pipeline needs to know about them. */
export interface StableDiffusionModel {
  /** Where it came from (folder or hub id) and the folder it was loaded from. */
  readonly id: string;
  readonly dir: string;
  /** 'sd1' (768-wide text) or 'sd2' (1024-wide text). */
  readonly family: 'sd1' | 'sd2';
  /** From scheduler_config.json (epsilon when absent). */
  readonly predictionType: 'epsilon' | 'v_prediction' | 'sample';
  /** Parsed scheduler/scheduler_config.json. */
  readonly schedulerConfig: Readonly<Record<string, unknown>>;
  readonly textEncoder: TextEncoder;
  readonly unet: Unet;
  readonly vaeDecoder: VaeDecoder;
}

/** Which decoder turned latents into an image: the SD model's own VAE, or a tiny autoencoder (TAESD). */
export type DecoderKind = 'vae' | 'tiny';
export const decoderKinds: readonly DecoderKind[] = ['vae', 'tiny'];

/**
 * A tiny autoencoder decoder (TAESD) beside the SD model: it decodes the UNet's latents like the VAE does (same
 * `VaeDecoder` interface, its own scaling factor) at a small fraction of the cost and with softer detail. pmg uses it
 * for previews whenever one is loaded, and for final images when asked.
 */
export interface TinyDecoderModel {
  /** Where it came from (folder or hub id) and the folder it was loaded from. */
  readonly id: string;
  readonly dir: string;
  readonly decoder: VaeDecoder;
}
