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

export interface Unet {
  /** Latent channels (4). */
  readonly inChannels: number;
  /** sample [b, c, h, w], timestep, encoder hidden states [b, tokens, hidden] -> noise/v prediction [b, c, h, w]. */
  predict(sample: FloatTensor, timestep: number, encoderHiddenStates: FloatTensor): Promise<FloatTensor>;
}

export interface VaeDecoder {
  /** From the decoder's config: 0.18215 for the SD 1.x/2.x VAE, 1.0 for the tiny autoencoder (TAESD). */
  readonly scalingFactor: number;
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
