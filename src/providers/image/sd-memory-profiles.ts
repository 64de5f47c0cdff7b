/**
 * The memory profiles of a Stable Diffusion folder's UNet and VAE decoder (spec/diffusion-models.ts), read from
 * unet/config.json and vae_decoder/config.json (or vae/config.json) as diffusers writes them. A config without the
 * architecture keys (many hub exports ship none) gives the family's real architecture: SD 1.x 320 channels with 8
 * heads at every attention level, SD 2.x 320 channels with 5/10/20 heads; the VAE is SD's AutoencoderKL
 * (block_out_channels 128/256/512/512, sample_size 512 for SD 1.x, 768 for SD 2.x). `source` says which.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionProvider } from '../../runtime/onnx-session.js';
import type { UnetMemoryProfile, VaeDecoderProfile } from '../../spec/diffusion-models.js';
import { readOptionalJson } from './sd-layout.js';

const SD_UNET = {
  sd1: { channels: 320, heads: [8, 8, 8, 0] },
  sd2: { channels: 320, heads: [5, 10, 20, 0] },
} as const;

const SD_VAE_BLOCKS = [128, 256, 512, 512];

/** Weight files an ONNX model may have beside model.onnx. */
const WEIGHT_FILES = ['model.onnx', 'model.onnx.data', 'model.onnx_data', 'weights.pb'];

function folderBytes(dir: string): number {
  let total = 0;
  for (const name of WEIGHT_FILES) {
    try {
      total += statSync(join(dir, name)).size;
    } catch {
      // absent
    }
  }
  return total;
}

const positiveInts = (value: unknown): number[] | undefined =>
  Array.isArray(value) && value.length > 0 && value.every((v) => Number.isInteger(v) && v > 0) ? (value as number[]) : undefined;

/** Heads per level as diffusers reads them: num_attention_heads, else (its historical misnomer) attention_head_dim. */
function headsPerLevel(config: Record<string, unknown>, levels: number): number[] | undefined {
  const given = config.num_attention_heads ?? config.attention_head_dim;
  const heads = typeof given === 'number' && Number.isInteger(given) && given > 0 ? new Array<number>(levels).fill(given) : positiveInts(given);
  if (!heads || heads.length !== levels) return undefined;
  const types = config.down_block_types;
  if (!Array.isArray(types) || types.length !== levels) return heads;
  return heads.map((h, i) => (String(types[i]).startsWith('CrossAttn') ? h : 0));
}

export interface ProfileContext {
  dir: string;
  family: 'sd1' | 'sd2';
  device: ExecutionProvider;
  /** dtype of the model's float inputs ('float16' or 'float32'). */
  floatType: string;
}

function activationBytes(context: ProfileContext): number {
  // On CPU onnxruntime computes fp16 graphs in float32 where it lacks fp16 kernels: count 4 bytes there.
  return context.device === 'cuda' && context.floatType === 'float16' ? 2 : 4;
}

export function unetMemoryProfile(context: ProfileContext): UnetMemoryProfile {
  const config = readOptionalJson([join(context.dir, 'unet', 'config.json')], `model ${context.dir}`)?.value;
  const channels = positiveInts(config?.block_out_channels);
  const heads = config && channels ? headsPerLevel(config, channels.length) : undefined;
  const known = channels && heads ? { channels: channels[0]!, heads, source: 'unet/config.json' } : undefined;
  const fallback = SD_UNET[context.family];
  return {
    device: context.device,
    weightBytes: folderBytes(join(context.dir, 'unet')),
    activationBytes: activationBytes(context),
    channels: known?.channels ?? fallback.channels,
    attentionHeads: known?.heads ?? [...fallback.heads],
    source: known?.source ?? `the SD ${context.family === 'sd2' ? '2' : '1'}.x UNet (no block_out_channels and heads in unet/config.json)`,
  };
}

export function vaeDecoderProfile(context: ProfileContext): VaeDecoderProfile {
  const found = readOptionalJson([join(context.dir, 'vae_decoder', 'config.json'), join(context.dir, 'vae', 'config.json')], `model ${context.dir}`);
  const config = found?.value;
  const given = positiveInts(config?.block_out_channels);
  const blocks = given ?? SD_VAE_BLOCKS;
  const rawSize = Array.isArray(config?.sample_size) ? config.sample_size[0] : config?.sample_size;
  const sampleSize = typeof rawSize === 'number' && Number.isInteger(rawSize) && rawSize > 0 ? rawSize : context.family === 'sd2' ? 768 : 512;
  const where = found ? found.path.slice(context.dir.length + 1) : undefined;
  return {
    device: context.device,
    tileSampleSize: sampleSize,
    tileLatentSize: Math.max(1, Math.floor(sampleSize / 2 ** (blocks.length - 1))),
    channels: blocks[0]!,
    midAttention: config?.mid_block_add_attention !== false,
    activationBytes: activationBytes(context),
    source: given && where ? where : `SD's AutoencoderKL${where ? ` (no block_out_channels in ${where})` : ''}`,
  };
}
