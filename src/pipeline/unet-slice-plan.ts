/**
 * How many UNet rows (candidates x guidance halves) go into one UNet call, chosen from a memory budget.
 *
 * The activation memory of one row is estimated from the UNet's profile (spec/diffusion-models.ts): the largest
 * self-attention map, heads x positions² values, dominates at 512 px, plus the feature maps, channels x positions
 * values. The constants were measured with onnxruntime-node 1.30 on CPU (enableMemPattern off, as pmg runs it) on a
 * proxy of SD 1.5's full-resolution level (docs/performance.md, "Memory"): 1.085 GB per row at 64x64 latents,
 * 0.356 GB at 48x48, 0.076 GB at 32x32, i.e. about 2.1 attention maps alive at the peak.
 *
 * On CPU, batching buys no speed once a call is big (measured for SD 1.5 at 512 px: batch 2 takes 2x batch 1,
 * batch 4 more than 4x) but its memory grows with every row, so a UNet whose row needs at least
 * CPU_BATCHING_LIMIT_BYTES runs one row per call. Smaller UNets (fixtures, tiny images) keep batching within the
 * budget, where it saves per-call overhead. On CUDA the plan takes the largest slice the budget allows; `auto` there
 * means no limit, since pmg cannot read the GPU's free memory. Slicing never changes a result: each row's output
 * does not depend on the rows beside it (tested byte for byte).
 */
import { PmgError } from '../errors/pmg-error.js';
import { describeBudget, type MemoryBudget } from '../core/memory-budget.js';
import { formatBytes } from '../core/progress.js';
import type { UnetMemoryProfile } from '../spec/diffusion-models.js';

/** Attention maps [heads, N, N] alive at the peak of one row (measured: 2.08 from the 32x32 and 64x64 figures). */
export const ATTENTION_MAPS_PER_ROW = 2.2;
/** Feature maps [channels, N] alive at once (skip connections, GEGLU, im2col); measured about 9, kept with margin. */
export const FEATURE_MAPS_PER_ROW = 16;
/**
 * On CPU, rows needing at least this much run one per call: SD-sized UNets from about 384 px up. Measured on the
 * real-scale SD 1.5 UNet (fused attention, 2 cores): at 512 px batch 2 costs 1.01x and batch 4 1.16x per image of
 * batch 1, while at 256 px (est. 95 MB per row) batch 2 costs 0.63x per image: small calls leave cores idle.
 */
export const CPU_BATCHING_LIMIT_BYTES = 256 * 2 ** 20;

export interface UnetSlicePlan {
  /** UNet rows per denoising step (candidates, times 2 with guidance). */
  rows: number;
  /** At most this many rows per UNet call (candidates of different token lengths also run in separate calls). */
  rowsPerCall: number;
  /** UNet calls per step (for one token length). */
  calls: number;
  device: 'cpu' | 'cuda';
  latentHeight: number;
  latentWidth: number;
  /** Estimated activation bytes of one row; undefined without a profile. */
  rowBytes?: number;
  budgetBytes?: number;
  autoBudget?: boolean;
  /** RSS when the plan was made (models loaded). */
  residentBytes?: number;
  /** Why this slice size. */
  reason: 'no-plan' | 'fits' | 'budget' | 'cpu-one-row' | 'over-budget' | 'cuda-unknown-memory';
  /** Where the UNet's architecture figures came from. */
  profileSource?: string;
}

/** Estimated activation bytes of one UNet row at this latent size. */
export function estimateUnetRowBytes(profile: UnetMemoryProfile, latentHeight: number, latentWidth: number): number {
  const positions = latentHeight * latentWidth;
  let attention = 0;
  profile.attentionHeads.forEach((heads, level) => {
    const n = positions / 4 ** level;
    attention = Math.max(attention, heads * n * n);
  });
  return Math.ceil((ATTENTION_MAPS_PER_ROW * attention + FEATURE_MAPS_PER_ROW * profile.channels * positions) * profile.activationBytes);
}

export interface SlicePlanInput {
  rows: number;
  latentHeight: number;
  latentWidth: number;
  profile?: UnetMemoryProfile;
  budget?: MemoryBudget;
}

export function planUnetSlices(input: SlicePlanInput): UnetSlicePlan {
  const { rows, latentHeight, latentWidth, profile, budget } = input;
  if (!Number.isInteger(rows) || rows < 1) throw new PmgError('internal', `a slice plan needs at least one UNet row, got ${rows}`);
  type Choice = Pick<UnetSlicePlan, 'rowsPerCall' | 'calls' | 'reason'>;
  const where = { device: profile?.device ?? 'cpu', latentHeight, latentWidth } as const;
  if (!profile || !budget) return { rows, rowsPerCall: rows, calls: 1, reason: 'no-plan', ...where };
  const rowBytes = estimateUnetRowBytes(profile, latentHeight, latentWidth);
  const plan = (choice: Choice): UnetSlicePlan => ({
    rows,
    ...choice,
    ...where,
    rowBytes,
    budgetBytes: budget.bytes,
    autoBudget: budget.auto,
    residentBytes: budget.residentBytes,
    profileSource: profile.source,
  });
  if (profile.device === 'cuda' && budget.auto) return plan({ rowsPerCall: rows, calls: 1, reason: 'cuda-unknown-memory' });
  // On CPU the loaded models are in the RSS already; on CUDA the UNet's weights sit in device memory.
  const used = profile.device === 'cuda' ? profile.weightBytes : budget.residentBytes;
  const fit = Math.floor(Math.max(0, budget.bytes - used) / rowBytes);
  const preferred = profile.device === 'cpu' && rowBytes >= CPU_BATCHING_LIMIT_BYTES ? 1 : rows;
  const limit = Math.max(1, Math.min(preferred, fit, rows));
  // Balanced slices: 5 rows with room for 3 run as 3 + 2, not 3 + 2 of different sizes by accident.
  const calls = Math.ceil(rows / limit);
  const rowsPerCall = Math.ceil(rows / calls);
  const reason: UnetSlicePlan['reason'] = fit < 1 ? 'over-budget' : rowsPerCall === rows ? 'fits' : preferred === 1 && fit > 1 ? 'cpu-one-row' : 'budget';
  return plan({ rowsPerCall, calls, reason });
}

/** One line for verbose output, e.g. `UNet: 4 rows per step in 4 calls of 1 (budget 7.5 GB, ...)`. */
export function describeSlicePlan(plan: UnetSlicePlan): string {
  const shape = plan.calls === 1 ? 'in 1 call' : `in ${plan.calls} calls of ${plan.rows % plan.calls === 0 ? '' : 'up to '}${plan.rowsPerCall}`;
  const head = `UNet: ${plan.rows} row${plan.rows === 1 ? '' : 's'} per step ${shape}`;
  if (plan.reason === 'no-plan') return `${head} (no memory plan: the UNet has no memory profile or no budget was given)`;
  const latent = `${plan.latentHeight}x${plan.latentWidth} latents`;
  const budget = `budget ${describeBudget({ bytes: plan.budgetBytes!, auto: plan.autoBudget!, residentBytes: plan.residentBytes! })}, ${formatBytes(plan.residentBytes!)} in use`;
  const estimate = `est. ${formatBytes(plan.rowBytes!)} per row at ${latent}`;
  const why: Record<Exclude<UnetSlicePlan['reason'], 'no-plan'>, string> = {
    fits: 'all rows fit',
    budget: 'as many rows per call as the budget allows',
    'cpu-one-row': 'on CPU batching buys no speed at this size, so one row per call',
    'over-budget': 'even one row exceeds the budget; running one row per call anyway',
    'cuda-unknown-memory': 'CUDA with an auto budget: GPU memory is not known, so no limit',
  };
  return `${head} (${budget}, ${estimate}; ${why[plan.reason]}; architecture from ${plan.profileSource})`;
}
