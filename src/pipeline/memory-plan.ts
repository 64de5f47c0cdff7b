/**
 * The memory side of a generation, shared by textToImage and personalize: resolve the budget against the machine
 * when the plan is made (models loaded), plan the UNet slices before denoising and the VAE tiling before decoding,
 * tell the caller's `info` hook, and keep what was chosen for the result's record.
 */
import { memorySnapshot, resolveMemoryBudget, type MemoryBudget, type MemoryBudgetSetting, type MemorySnapshot } from '../core/memory-budget.js';
import type { Unet, VaeDecoder } from '../spec/diffusion-models.js';
import { describeSlicePlan, planUnetSlices, type UnetSlicePlan } from './unet-slice-plan.js';
import { describeVaeTiling, planVaeTiling, type VaeTilingMode, type VaeTilingPlan } from './vae-tiling-plan.js';
import { tiledVaeDecoder } from './vae-tiling.js';

export interface MemoryOptions {
  /**
   * Peak resident memory the process may reach (bytes), or 'auto' (the machine's available memory, minus a margin).
   * Without it the UNet rows of a step run in one call and tiling is only done when asked for.
   */
  budget?: MemoryBudgetSetting;
  /** 'auto' (default): tile the VAE decode when the budget says a whole one would not fit; 'on'; 'off'. */
  vaeTiling?: VaeTilingMode;
  /** Reads the process's and the machine's memory (default: RSS and /proc/meminfo); tests inject one. */
  snapshot?: () => MemorySnapshot;
}

/** What the memory plan chose, as result.json and `txt2img --json` record it. */
export interface MemoryRecord {
  unet: UnetSlicePlan;
  vae?: VaeTilingPlan;
}

function budgetNow(memory: MemoryOptions | undefined): MemoryBudget | undefined {
  if (memory?.budget === undefined) return undefined;
  return resolveMemoryBudget(memory.budget, (memory.snapshot ?? memorySnapshot)());
}

/** The UNet slices for `rows` rows per step at this latent size (one line to `info` when a budget is given). */
export function planUnetMemory(
  unet: Unet,
  rows: number,
  latentHeight: number,
  latentWidth: number,
  memory: MemoryOptions | undefined,
  info?: (message: string) => void,
): UnetSlicePlan {
  const budget = budgetNow(memory);
  const plan = planUnetSlices({
    rows,
    latentHeight,
    latentWidth,
    ...(unet.memoryProfile ? { profile: unet.memoryProfile } : {}),
    ...(budget ? { budget } : {}),
  });
  if (budget) info?.(describeSlicePlan(plan));
  return plan;
}

/** The decoder to use for latents of this size: `vae` itself or a tiled wrapper, with the plan that chose it. */
export function decoderForMemory(
  vae: VaeDecoder,
  latentHeight: number,
  latentWidth: number,
  memory: MemoryOptions | undefined,
  info?: (message: string) => void,
): { decoder: VaeDecoder; plan: VaeTilingPlan } {
  const mode = memory?.vaeTiling ?? 'auto';
  const budget = mode === 'auto' ? budgetNow(memory) : undefined;
  const plan = planVaeTiling({ mode, latentHeight, latentWidth, ...(vae.profile ? { profile: vae.profile } : {}), ...(budget ? { budget } : {}) });
  if (memory?.budget !== undefined || mode !== 'auto') info?.(describeVaeTiling(plan));
  return { decoder: plan.tiled ? tiledVaeDecoder(vae, plan) : vae, plan };
}
