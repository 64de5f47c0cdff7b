/**
 * How much memory a run may use: `--memory-budget <GB|auto>` read once, and resolved against the machine when a
 * plan is made (after the models are loaded, so what they hold is already counted).
 *
 * A budget is the peak resident memory (RSS) the whole process may reach: models plus working memory. `auto` is
 * what the process holds now plus what the kernel says it could still get (MemAvailable in /proc/meminfo, else
 * os.freemem()), minus a safety margin of 10% of the machine's memory (at least 512 MB), so other programs keep
 * some room. GB here are binary (2^30 bytes), as formatBytes prints them.
 */
import { readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { PmgError } from '../errors/pmg-error.js';
import { formatBytes } from './progress.js';

export const GB = 2 ** 30;
/** Smallest budget accepted (a budget below what the models take is refused when the plan is made). */
export const MIN_BUDGET_GB = 0.25;

/** What the user asked for: `auto` or a number of bytes. */
export type MemoryBudgetSetting = 'auto' | number;

/** The machine's memory at one moment. */
export interface MemorySnapshot {
  /** Resident memory of this process (RSS). */
  residentBytes: number;
  /** Memory the kernel could still give (MemAvailable), without swapping. */
  availableBytes: number;
  totalBytes: number;
}

/** A budget resolved against a snapshot: `bytes` is the peak RSS allowed. */
export interface MemoryBudget {
  bytes: number;
  auto: boolean;
  /** RSS of the process when the budget was resolved (models loaded). */
  residentBytes: number;
}

/** `8`, `7.5`, `8GB`, `512MB` or `auto` (case-insensitive); `what` names the flag or field in errors. */
export function parseMemoryBudget(text: string, what = 'memoryBudget'): MemoryBudgetSetting {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'auto') return 'auto';
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*(gb|g|gib|mb|m|mib)?$/.exec(trimmed);
  const value = match ? Number(match[1]) * (match[2]?.startsWith('m') ? 2 ** 20 : GB) : Number.NaN;
  if (!Number.isFinite(value) || value < MIN_BUDGET_GB * GB) {
    throw new PmgError(
      'invalid-argument',
      `${what} must be 'auto' or an amount of memory of at least ${MIN_BUDGET_GB} GB (e.g. 8, 7.5GB or 6000MB), got '${text}'`,
      {
        details: { field: what },
      },
    );
  }
  return Math.round(value);
}

/** MemAvailable and MemTotal (bytes) from the text of /proc/meminfo; undefined where a line is missing. */
export function parseMemInfo(text: string): { availableBytes?: number; totalBytes?: number } {
  const read = (key: string): number | undefined => {
    const match = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : undefined;
  };
  const availableBytes = read('MemAvailable');
  const totalBytes = read('MemTotal');
  return { ...(availableBytes !== undefined ? { availableBytes } : {}), ...(totalBytes !== undefined ? { totalBytes } : {}) };
}

/** This process and this machine now. */
export function memorySnapshot(): MemorySnapshot {
  let info: { availableBytes?: number; totalBytes?: number } = {};
  try {
    info = parseMemInfo(readFileSync('/proc/meminfo', 'utf8'));
  } catch {
    // not Linux: os.freemem() below
  }
  return { residentBytes: process.memoryUsage.rss(), availableBytes: info.availableBytes ?? freemem(), totalBytes: info.totalBytes ?? totalmem() };
}

/** The safety margin an `auto` budget leaves to the rest of the machine. */
export function autoBudgetMargin(totalBytes: number): number {
  return Math.max(512 * 2 ** 20, 0.1 * totalBytes);
}

export function resolveMemoryBudget(setting: MemoryBudgetSetting, snapshot: MemorySnapshot): MemoryBudget {
  if (setting !== 'auto') return { bytes: setting, auto: false, residentBytes: snapshot.residentBytes };
  const bytes = Math.round(snapshot.residentBytes + Math.max(0, snapshot.availableBytes - autoBudgetMargin(snapshot.totalBytes)));
  return { bytes, auto: true, residentBytes: snapshot.residentBytes };
}

/** `7.5 GB (auto)` / `8.0 GB`. */
export function describeBudget(budget: MemoryBudget): string {
  return `${formatBytes(budget.bytes)}${budget.auto ? ' (auto)' : ''}`;
}
