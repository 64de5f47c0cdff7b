/**
 * `--memory-budget`, `--vae-tiling` and `--verbose`, read the same way by generate, txt2img and eval: the memory
 * options of the pipeline (pipeline/memory-plan.ts) and a sink for its one-line notes on stderr.
 */
import { parseMemoryBudget } from '../core/memory-budget.js';
import { PmgError } from '../errors/pmg-error.js';
import type { MemoryOptions } from '../pipeline/memory-plan.js';
import { vaeTilingModes, type VaeTilingMode } from '../pipeline/vae-tiling-plan.js';
import { booleanOption, stringOption, type CommandContext, type OptionSpec } from './command.js';

export const memoryCommandOptions: Record<string, OptionSpec> = {
  'memory-budget': {
    type: 'string',
    value: 'GB|auto',
    description:
      "peak memory of the run (models + working memory) in GB, or auto (the machine's available memory, minus 10%); sets how many UNet rows run per call and when the VAE decodes in tiles",
    default: 'auto',
  },
  'vae-tiling': {
    type: 'string',
    value: 'auto|on|off',
    description:
      "decode in overlapping tiles (diffusers' tiled_decode; pixels near the seams differ slightly): auto = only when the budget says a whole decode would not fit",
    default: 'auto',
  },
  verbose: { type: 'boolean', description: 'print the memory plan (UNet rows per call, VAE tiling) on stderr' },
};

export function memoryOptions(context: CommandContext): MemoryOptions {
  const vaeTiling = stringOption(context, 'vae-tiling') ?? 'auto';
  if (!vaeTilingModes.includes(vaeTiling as VaeTilingMode))
    throw new PmgError('invalid-argument', `--vae-tiling must be ${vaeTilingModes.join(', ')}, got '${vaeTiling}'`, { details: { field: 'vae-tiling' } });
  return { budget: parseMemoryBudget(stringOption(context, 'memory-budget') ?? 'auto'), vaeTiling: vaeTiling as VaeTilingMode };
}

/** With --verbose: writes each note to stderr, skipping a note equal to the one just written (eval repeats them). */
export function verboseSink(context: CommandContext): ((message: string) => void) | undefined {
  if (!booleanOption(context, 'verbose')) return undefined;
  let last: string | undefined;
  return (message) => {
    if (message === last) return;
    last = message;
    context.io.stderr.write(`${message}\n`);
  };
}
