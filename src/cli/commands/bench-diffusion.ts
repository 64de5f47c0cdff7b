/** `pmg bench diffusion`: per-image time, overhead outside onnxruntime, batched guidance, memory over many generations. */
import { PmgError } from '../../errors/pmg-error.js';
import { DIFFUSION_BENCH_DEFAULTS, benchDiffusion, formatDiffusionBench } from '../../bench/diffusion.js';
import { resolveSchedulerName } from '../../schedulers/index.js';
import { booleanOption, stringOption, type Command } from '../command.js';
import { intOption } from '../option-values.js';

const d = DIFFUSION_BENCH_DEFAULTS;

export const benchDiffusionCommand: Command = {
  name: 'bench diffusion',
  summary: 'time the diffusion pipeline on a fixture UNet (per image, outside-onnxruntime share, batch 2 vs 2x1, memory)',
  usage: '[--steps N] [--size PX] [--repeats N] [--generations N] [--unet-scale S] [--threads N] [--json]',
  options: {
    steps: { type: 'string', value: 'N', description: 'denoising steps per image', default: String(d.steps) },
    size: { type: 'string', value: 'PX', description: 'image side (multiple of 8)', default: String(d.width) },
    repeats: { type: 'string', value: 'N', description: 'timed generations (medians)', default: String(d.repeats) },
    generations: { type: 'string', value: 'N', description: 'generations before the second memory reading', default: String(d.generations) },
    'unet-scale': { type: 'string', value: 'S', description: 'width of the fixture UNet (8 -> tens of ms per call)', default: String(d.unetScale) },
    scheduler: { type: 'string', value: 'NAME', description: 'scheduler', default: d.scheduler },
    threads: { type: 'string', value: 'N', description: "intra-op threads (default: the machine's cores)" },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(context) {
    const positive = (name: string, fallback: number): number => intOption(context, name, { min: 1, fallback });
    const size = positive('size', d.width);
    if (size % 8 !== 0) throw new PmgError('invalid-argument', `--size must be a multiple of 8, got ${size}`);
    const threads = intOption(context, 'threads', { min: 1 });
    const options = {
      steps: positive('steps', d.steps),
      width: size,
      height: size,
      repeats: positive('repeats', d.repeats),
      generations: positive('generations', d.generations),
      unetScale: positive('unet-scale', d.unetScale),
      scheduler: resolveSchedulerName(stringOption(context, 'scheduler') ?? d.scheduler),
      ...(threads !== undefined ? { threads } : {}),
    };
    const result = await benchDiffusion(options, (line) => void context.io.stderr.write(`${line}\n`));
    const command = `pmg bench diffusion --steps ${options.steps} --size ${size} --repeats ${options.repeats} --generations ${options.generations} --unet-scale ${options.unetScale} --scheduler ${options.scheduler}${options.threads ? ` --threads ${options.threads}` : ''}`;
    context.io.stdout.write(booleanOption(context, 'json') ? `${JSON.stringify({ command, ...result }, null, 2)}\n` : formatDiffusionBench(result, command));
    return 0;
  },
};
