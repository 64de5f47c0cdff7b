/**
 * The flags of the benches that time a generation job on fixture models (`pmg bench serve`, `pmg bench queue`):
 * --steps, --size (a multiple of 8), --unet-scale and --json, with each bench's own defaults.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { CommandContext, OptionSpec } from './command.js';
import { intOption } from './option-values.js';

export interface FixtureJobSettings {
  steps: number;
  size: number;
  unetScale: number;
}

export function fixtureBenchOptions(defaults: FixtureJobSettings, what: string): Record<'steps' | 'size' | 'unet-scale' | 'json', OptionSpec> {
  return {
    steps: { type: 'string', value: 'N', description: `denoising steps of ${what}`, default: String(defaults.steps) },
    size: { type: 'string', value: 'PX', description: 'image side (multiple of 8)', default: String(defaults.size) },
    'unet-scale': {
      type: 'string',
      value: 'S',
      description: 'width of the fixture UNet (8 -> tens of ms per call; 1 = the test model)',
      default: String(defaults.unetScale),
    },
    json: { type: 'boolean', description: 'print JSON' },
  };
}

export function fixtureJobSettings(context: CommandContext, defaults: FixtureJobSettings): FixtureJobSettings {
  const size = intOption(context, 'size', { min: 8, max: 512, fallback: defaults.size });
  if (size % 8 !== 0) throw new PmgError('invalid-argument', `--size must be a multiple of 8, got ${size}`);
  return {
    steps: intOption(context, 'steps', { min: 1, max: 200, fallback: defaults.steps }),
    size,
    unetScale: intOption(context, 'unet-scale', { min: 1, max: 64, fallback: defaults.unetScale }),
  };
}
