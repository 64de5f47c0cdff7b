/** `pmg bench train`: the soft-branch trainer's cost (bench/train.ts): fixture scale by default, the real-scale UNet's gradient with --real-scale. */
import { commandSettings } from '../command-settings.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TRAIN_BENCH_DEFAULTS, benchTrain, formatTrainBench } from '../../bench/train.js';
import { PmgError } from '../../errors/pmg-error.js';
import { realScaleDir } from '../../fixtures/real-scale-fixtures.js';
import { booleanOption, stringOption, type Command } from '../command.js';
import { intListOption, intOption } from '../option-values.js';

const d = TRAIN_BENCH_DEFAULTS;

export const benchTrainCommand: Command = {
  name: 'bench train',
  summary: 'time the soft-branch trainer: seconds per sample-step, peak RSS, share outside onnxruntime, the UNet input gradient backward/forward ratio',
  usage: '[--steps N] [--resolution PX] [--repeats N] [--threads N] [--real-scale [--sizes 256,512] [--dir DIR]] [--json]',
  options: {
    steps: { type: 'string', value: 'N', description: 'timed optimiser steps per variant (batch 1)', default: String(d.steps) },
    resolution: { type: 'string', value: 'PX', description: 'training resolution of the fixture runs', default: String(d.resolution) },
    repeats: { type: 'string', value: 'N', description: 'timed UNet calls per figure (medians)', default: String(d.repeats) },
    threads: { type: 'string', value: 'N', description: 'onnxruntime intra-op threads (default: all cores)' },
    'real-scale': {
      type: 'boolean',
      description: "also the UNet input gradient of the real-scale random-weight SD 1.5 ('pmg models fixtures --real-scale'; minutes, GiB of memory)",
    },
    sizes: { type: 'string', value: 'LIST', description: 'with --real-scale: image sides', default: d.unetResolutions.join(',') },
    dir: { type: 'string', value: 'DIR', description: "with --real-scale: the real-scale folder (default: the cache's real-scale/)" },
    json: { type: 'boolean', description: 'print JSON' },
  },
  details: 'Figures are measured on this machine (CPU unless onnxruntime runs elsewhere); see docs/training.md for GPU estimates.',
  async run(context) {
    const steps = intOption(context, 'steps', { min: 1, max: 1000, fallback: d.steps });
    const resolution = intOption(context, 'resolution', { min: 64, max: 1024, fallback: d.resolution });
    if (resolution % 64 !== 0) throw new PmgError('invalid-argument', `--resolution ${resolution}: use a multiple of 64`, { details: { field: 'resolution' } });
    const repeats = intOption(context, 'repeats', { min: 1, max: 100, fallback: d.repeats });
    const threads = intOption(context, 'threads', { min: 1 });
    const realScale = booleanOption(context, 'real-scale');
    const sizes = intListOption(context, 'sizes', { min: 64, max: 1024, fallback: d.unetResolutions });
    const bad = sizes.find((s) => s % 64 !== 0);
    if (bad !== undefined) throw new PmgError('invalid-argument', `--sizes: ${bad} is not a multiple of 64`, { details: { field: 'sizes' } });
    let unetDir: string | undefined;
    if (realScale) {
      const dirText = stringOption(context, 'dir');
      const dir = dirText !== undefined ? resolve(context.io.cwd, dirText) : realScaleDir(commandSettings(context).cacheDir);
      unetDir = join(dir, 'sd15');
      if (!existsSync(join(unetDir, 'unet', 'model.onnx')))
        throw new PmgError('model-not-found', `no real-scale SD 1.5 in ${dir}; write it with 'pmg models fixtures --real-scale' (or give --dir)`, {
          details: { dir },
        });
    } else if (stringOption(context, 'dir') !== undefined)
      throw new PmgError('invalid-argument', '--dir is a flag of the real-scale figures; add --real-scale', { details: { field: 'dir' } });
    const options = { steps, resolution, repeats, unetResolutions: sizes, ...(threads ? { threads } : {}), ...(unetDir ? { unetDir } : {}) };
    const result = await benchTrain(options, (line) => void context.io.stderr.write(`${line}\n`));
    const command = `pmg bench train --steps ${steps} --resolution ${resolution} --repeats ${repeats}${threads ? ` --threads ${threads}` : ''}${realScale ? ` --real-scale --sizes ${sizes.join(',')}` : ''}`;
    context.io.stdout.write(booleanOption(context, 'json') ? `${JSON.stringify({ command, ...result }, null, 2)}\n` : formatTrainBench(result, command));
    return 0;
  },
};
