/**
 * Learning-rate schedules with linear warm-up, as transformers' `get_constant_schedule_with_warmup`,
 * `get_linear_schedule_with_warmup` and `get_cosine_schedule_with_warmup` (num_cycles 0.5) define them: a factor of
 * the base rate for optimiser step `step` (0-based: the first update uses factor(0), as a LambdaLR stepped after each
 * optimizer.step() does, so with warm-up the very first update has rate 0).
 */
import { PmgError } from '../errors/pmg-error.js';

export const LR_SCHEDULES = ['constant', 'linear', 'cosine'] as const;
export type LrScheduleKind = (typeof LR_SCHEDULES)[number];

export interface LrSchedule {
  kind: LrScheduleKind;
  /** Warm-up optimiser steps. */
  warmup: number;
  /** Total optimiser steps (the decay reaches 0 there). */
  total: number;
}

export function checkLrSchedule(kind: string): LrScheduleKind {
  if (!(LR_SCHEDULES as readonly string[]).includes(kind))
    throw new PmgError('invalid-argument', `unknown learning-rate schedule '${kind}'; use one of ${LR_SCHEDULES.join(', ')}`);
  return kind as LrScheduleKind;
}

/** The factor of the base learning rate at optimiser step `step` (0-based). */
export function lrFactor(schedule: LrSchedule, step: number): number {
  const { warmup, total } = schedule;
  if (step < warmup) return step / Math.max(1, warmup);
  if (schedule.kind === 'constant') return 1;
  if (schedule.kind === 'linear') return Math.max(0, (total - step) / Math.max(1, total - warmup));
  const progress = (step - warmup) / Math.max(1, total - warmup);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress)));
}
