/**
 * Number flags, read the same way by every command. A flag that is absent gives its fallback (or
 * undefined); a value that is not a number, not a whole number or out of range is an `invalid-argument`
 * error naming the flag, its allowed values and the text given, e.g.
 * `--steps must be an integer from 1 to 1000, got '0'`.
 */
import { PmgError } from '../errors/pmg-error.js';
import { stringOption, type CommandContext } from './command.js';

export interface IntRange {
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
}

/** A decimal integer: optional sign and digits, surrounding spaces allowed (no 1e3, 0x10 or 2.0). */
const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/;

/** `--name` as a finite number; `fallback` (else undefined) when absent. */
export function numberOption(context: CommandContext, name: string): number | undefined;
export function numberOption(context: CommandContext, name: string, fallback: number): number;
export function numberOption(context: CommandContext, name: string, fallback?: number): number | undefined {
  const text = stringOption(context, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value))
    throw new PmgError('invalid-argument', `--${name} must be a number, got '${text}'`, { details: { field: name } });
  return value;
}

/** `--name` as a whole number within `min`..`max`; `fallback` (else undefined) when absent. */
export function intOption(context: CommandContext, name: string, options: IntRange & { fallback: number }): number;
export function intOption(context: CommandContext, name: string, options?: IntRange & { fallback?: undefined }): number | undefined;
export function intOption(context: CommandContext, name: string, options: IntRange & { fallback?: number } = {}): number | undefined {
  const text = stringOption(context, name);
  if (text === undefined) return options.fallback;
  const value = Number(text);
  const { min, max } = options;
  if (!INTEGER_TEXT.test(text) || !Number.isSafeInteger(value) || (min !== undefined && value < min) || (max !== undefined && value > max)) {
    throw new PmgError('invalid-argument', `--${name} must be ${integerKind(options)}, got '${text}'`, { details: { field: name } });
  }
  return value;
}

/** 'a positive integer', 'an integer from 1 to 16', ... */
function integerKind({ min, max }: IntRange): string {
  if (min !== undefined && max !== undefined) return `an integer from ${min} to ${max}`;
  if (min === 0) return 'a non-negative integer';
  if (min === 1) return 'a positive integer';
  if (min !== undefined) return `an integer >= ${min}`;
  if (max !== undefined) return `an integer <= ${max}`;
  return 'an integer';
}

/**
 * `--name` as a comma-separated list of whole numbers within `min`..`max` (e.g. `--sizes 256,512`); `fallback`
 * when absent. Each item is checked like intOption, and the message names the item.
 */
export function intListOption(context: CommandContext, name: string, options: IntRange & { fallback: readonly number[] }): number[] {
  const text = stringOption(context, name);
  if (text === undefined) return [...options.fallback];
  const items = text.split(',');
  return items.map((item) => {
    const value = Number(item);
    const { min, max } = options;
    if (!INTEGER_TEXT.test(item) || !Number.isSafeInteger(value) || (min !== undefined && value < min) || (max !== undefined && value > max)) {
      throw new PmgError(
        'invalid-argument',
        `--${name} takes a comma-separated list; each item must be ${integerKind(options)}, got '${item.trim()}' in '${text}'`,
        { details: { field: name } },
      );
    }
    return value;
  });
}
