/**
 * Whether a VAE decode runs in tiles (vae-tiling.ts): always (`on`), never (`off`), or `auto`: when the memory budget
 * says one whole decode would not fit beside what the process already holds.
 *
 * The decode's activation memory is estimated from the decoder's profile: feature maps of the full-resolution
 * channels over every pixel, plus the mid block's single-head attention map over the latent positions. Constants
 * measured with onnxruntime-node 1.30 on CPU on a proxy with the SD VAE decoder's architecture (block_out_channels
 * 128/256/512/512, 49.5 M parameters): about 1.2 GB at 512 px and 0.28 GB at 256 px (docs/performance.md,
 * "Memory"); the constants round those up.
 */
import { describeBudget, type MemoryBudget } from '../core/memory-budget.js';
import { formatBytes } from '../core/progress.js';
import type { VaeDecoderProfile } from '../spec/diffusion-models.js';
import { needsTiles, TILE_OVERLAP_FACTOR, tileCount, type VaeTiling } from './vae-tiling.js';

export type VaeTilingMode = 'auto' | 'on' | 'off';
export const vaeTilingModes: readonly VaeTilingMode[] = ['auto', 'on', 'off'];

/** Feature maps of full-resolution channels alive at the peak of a decode (measured about 8.6). */
export const VAE_FEATURE_MAPS = 10;
/** Mid-block attention maps [N, N] alive at the peak (measured about 2.75). */
export const VAE_ATTENTION_MAPS = 3;
/** Tiles when a decoder has no profile and tiling is asked for: SD's VAE (sample_size 512, 4 blocks). */
export const DEFAULT_VAE_TILING: VaeTiling = { tileSampleSize: 512, tileLatentSize: 64 };

export interface VaeTilingPlan {
  mode: VaeTilingMode;
  tiled: boolean;
  reason: 'off' | 'asked' | 'one-tile' | 'fits' | 'budget' | 'no-estimate';
  tileSampleSize: number;
  tileLatentSize: number;
  /** Decoder calls per image. */
  tilesPerImage: number;
  /** Estimated activation bytes of one whole (untiled) decode, when the decoder has a profile. */
  estimatedBytes?: number;
  budgetBytes?: number;
  autoBudget?: boolean;
  residentBytes?: number;
}

/** Estimated activation bytes of decoding one image of latentHeight x latentWidth latents in one call. */
export function estimateVaeDecodeBytes(profile: VaeDecoderProfile, latentHeight: number, latentWidth: number): number {
  const positions = latentHeight * latentWidth;
  const pixels = positions * 64;
  const attention = profile.midAttention ? VAE_ATTENTION_MAPS * positions * positions : 0;
  return Math.ceil((VAE_FEATURE_MAPS * profile.channels * pixels + attention) * profile.activationBytes);
}

export interface VaeTilingInput {
  mode: VaeTilingMode;
  latentHeight: number;
  latentWidth: number;
  profile?: VaeDecoderProfile;
  budget?: MemoryBudget;
}

export function planVaeTiling(input: VaeTilingInput): VaeTilingPlan {
  const { mode, latentHeight, latentWidth, profile, budget } = input;
  const tiling: VaeTiling = profile ? { tileSampleSize: profile.tileSampleSize, tileLatentSize: profile.tileLatentSize } : DEFAULT_VAE_TILING;
  const estimatedBytes = profile ? estimateVaeDecodeBytes(profile, latentHeight, latentWidth) : undefined;
  const plan = (tiled: boolean, reason: VaeTilingPlan['reason']): VaeTilingPlan => ({
    mode,
    tiled,
    reason,
    tilesPerImage: tiled ? tileCount(tiling, latentHeight, latentWidth) : 1,
    ...tiling,
    ...(estimatedBytes !== undefined ? { estimatedBytes } : {}),
    ...(budget ? { budgetBytes: budget.bytes, autoBudget: budget.auto, residentBytes: budget.residentBytes } : {}),
  });
  if (mode === 'off') return plan(false, 'off');
  if (!needsTiles(tiling, latentHeight, latentWidth)) return plan(false, 'one-tile');
  if (mode === 'on') return plan(true, 'asked');
  if (estimatedBytes === undefined || !budget) return plan(false, 'no-estimate');
  return budget.residentBytes + estimatedBytes > budget.bytes ? plan(true, 'budget') : plan(false, 'fits');
}

/** The `vaeTiles` field of a generation record: present only when the decode was tiled. */
export function vaeTilesRecord(plan: VaeTilingPlan | undefined): { vaeTiles?: { tileSampleSize: number; tileLatentSize: number; overlapFactor: number } } {
  if (!plan?.tiled) return {};
  return { vaeTiles: { tileSampleSize: plan.tileSampleSize, tileLatentSize: plan.tileLatentSize, overlapFactor: TILE_OVERLAP_FACTOR } };
}

/** One line for verbose output. */
export function describeVaeTiling(plan: VaeTilingPlan): string {
  const tiles = `tiles of ${plan.tileSampleSize} px (${plan.tileLatentSize} latent px), overlap 0.25`;
  const estimate = plan.estimatedBytes !== undefined ? `est. ${formatBytes(plan.estimatedBytes)} for a whole decode` : 'no estimate for this decoder';
  const budget =
    plan.budgetBytes !== undefined
      ? `, budget ${describeBudget({ bytes: plan.budgetBytes, auto: plan.autoBudget!, residentBytes: plan.residentBytes! })}, ${formatBytes(plan.residentBytes!)} in use`
      : '';
  switch (plan.reason) {
    case 'off':
      return 'VAE: whole decode (tiling off)';
    case 'one-tile':
      return `VAE: whole decode (the image fits in one tile of ${plan.tileSampleSize} px)`;
    case 'asked':
      return `VAE: ${plan.tilesPerImage} ${tiles} per image (tiling on)`;
    case 'budget':
      return `VAE: ${plan.tilesPerImage} ${tiles} per image (${estimate}${budget}: it would not fit)`;
    case 'fits':
      return `VAE: whole decode (${estimate}${budget}: it fits)`;
    case 'no-estimate':
      return `VAE: whole decode (${estimate}; ask for tiling to tile anyway)`;
  }
}
