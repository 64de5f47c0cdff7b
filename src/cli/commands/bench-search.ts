/** `pmg bench search`: cost of exhaustive and early candidate search against one-at-a-time generation, on fixture models. */
import { PmgError } from '../../errors/pmg-error.js';
import { SEARCH_BENCH_DEFAULTS, benchSearch, formatSearchBench, type SearchBenchOptions } from '../../bench/search.js';
import { resolveSchedulerName } from '../../schedulers/index.js';
import { booleanOption, stringOption, type Command } from '../command.js';
import { intOption } from '../option-values.js';

const d = SEARCH_BENCH_DEFAULTS;

export const benchSearchCommand: Command = {
  name: 'bench search',
  summary: 'time exhaustive and early candidate search against generating the candidates one at a time (fixture models)',
  usage: '[--counts 2,4,8] [--steps N] [--size PX] [--repeats N] [--unet-scale S] [--early-fraction F] [--early-keep K] [--json]',
  options: {
    counts: { type: 'string', value: 'N,N', description: 'candidate counts', default: d.counts.join(',') },
    steps: { type: 'string', value: 'N', description: 'denoising steps', default: String(d.steps) },
    size: { type: 'string', value: 'PX', description: 'image side (multiple of 8)', default: String(d.size) },
    guidance: { type: 'string', value: 'G', description: 'guidance scale (<= 1: no unconditional half)', default: String(d.guidance) },
    repeats: { type: 'string', value: 'N', description: 'timed repeats per count (medians)', default: String(d.repeats) },
    'unet-scale': { type: 'string', value: 'S', description: 'width of the fixture UNet (8 -> tens of ms per call)', default: String(d.unetScale) },
    'early-fraction': { type: 'string', value: 'F', description: 'early search: fraction of the steps before the previews', default: String(d.earlyFraction) },
    'early-keep': { type: 'string', value: 'K', description: 'early search: candidates finished', default: String(d.earlyKeep) },
    scheduler: { type: 'string', value: 'NAME', description: 'scheduler', default: d.scheduler },
    threads: { type: 'string', value: 'N', description: "intra-op threads (default: the machine's cores)" },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(context) {
    const countsText = stringOption(context, 'counts') ?? d.counts.join(',');
    const counts = countsText.split(',').map((p) => {
      const n = Number(p.trim());
      if (!Number.isInteger(n) || n < 1 || n > 10) throw new PmgError('invalid-argument', `--counts: '${p}' is not a whole number from 1 to 10`);
      return n;
    });
    const fraction = Number(stringOption(context, 'early-fraction') ?? d.earlyFraction);
    if (!(fraction > 0 && fraction < 1))
      throw new PmgError('invalid-argument', `--early-fraction must be between 0 and 1, got '${stringOption(context, 'early-fraction')}'`);
    const guidance = Number(stringOption(context, 'guidance') ?? d.guidance);
    if (!Number.isFinite(guidance) || guidance < 0)
      throw new PmgError('invalid-argument', `--guidance must be a number >= 0, got '${stringOption(context, 'guidance')}'`);
    const positive = (name: string, fallback: number): number => intOption(context, name, { min: 1, fallback });
    const size = positive('size', d.size);
    if (size % 8 !== 0) throw new PmgError('invalid-argument', `--size must be a multiple of 8, got ${size}`);
    const threads = intOption(context, 'threads', { min: 1 });
    const options: SearchBenchOptions = {
      counts,
      steps: positive('steps', d.steps),
      size,
      guidance,
      repeats: positive('repeats', d.repeats),
      unetScale: positive('unet-scale', d.unetScale),
      earlyFraction: fraction,
      earlyKeep: positive('early-keep', d.earlyKeep),
      scheduler: resolveSchedulerName(stringOption(context, 'scheduler') ?? d.scheduler),
      ...(threads ? { threads } : {}),
    };
    const result = await benchSearch(options, (line) => void context.io.stderr.write(`${line}\n`));
    const command = `pmg bench search --counts ${counts.join(',')} --steps ${options.steps} --size ${size} --guidance ${guidance} --repeats ${options.repeats} --unet-scale ${options.unetScale} --early-fraction ${fraction} --early-keep ${options.earlyKeep} --scheduler ${options.scheduler}${threads ? ` --threads ${threads}` : ''}`;
    context.io.stdout.write(booleanOption(context, 'json') ? `${JSON.stringify({ command, ...result }, null, 2)}\n` : formatSearchBench(result, command));
    return 0;
  },
};
