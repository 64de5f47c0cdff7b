/** `pmg bench serve`: the cost of serving a job against running it directly, status and SSE latency (fixture models). */
import { PmgError } from '../../errors/pmg-error.js';
import { SERVE_BENCH_DEFAULTS, benchServe, formatServeBench } from '../../bench/serve.js';
import { booleanOption, type Command } from '../command.js';
import { intOption } from '../option-values.js';

const d = SERVE_BENCH_DEFAULTS;

export const benchServeCommand: Command = {
  name: 'bench serve',
  summary: 'the cost of pmg serve: a job served (HTTP + SSE) against personalize directly, status and SSE latency p50/p99 (fixture models)',
  usage: '[--jobs N] [--steps N] [--size PX] [--status-calls N] [--unet-scale S] [--json]',
  options: {
    jobs: {
      type: 'string',
      value: 'N',
      description: 'timed jobs per path (medians)',
      default: String(d.jobs),
    },
    steps: {
      type: 'string',
      value: 'N',
      description: 'denoising steps of the job',
      default: String(d.steps),
    },
    size: {
      type: 'string',
      value: 'PX',
      description: 'image side (multiple of 8)',
      default: String(d.size),
    },
    'status-calls': {
      type: 'string',
      value: 'N',
      description: 'GET /v1/generations/{id} calls per phase (idle, busy)',
      default: String(d.statusCalls),
    },
    'unet-scale': {
      type: 'string',
      value: 'S',
      description: 'width of the fixture UNet (8 -> tens of ms per call; 1 = the test model)',
      default: String(d.unetScale),
    },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(context) {
    const size = intOption(context, 'size', {
      min: 8,
      max: 512,
      fallback: d.size,
    });
    if (size % 8 !== 0) throw new PmgError('invalid-argument', `--size must be a multiple of 8, got ${size}`);
    const options = {
      jobs: intOption(context, 'jobs', { min: 1, max: 100, fallback: d.jobs }),
      steps: intOption(context, 'steps', {
        min: 1,
        max: 200,
        fallback: d.steps,
      }),
      size,
      statusCalls: intOption(context, 'status-calls', {
        min: 1,
        max: 10_000,
        fallback: d.statusCalls,
      }),
      unetScale: intOption(context, 'unet-scale', {
        min: 1,
        max: 64,
        fallback: d.unetScale,
      }),
    };
    const result = await benchServe(options, (line) => void context.io.stderr.write(`${line}\n`));
    const command = `pmg bench serve --jobs ${options.jobs} --steps ${options.steps} --size ${size} --status-calls ${options.statusCalls} --unet-scale ${options.unetScale}`;
    context.io.stdout.write(booleanOption(context, 'json') ? `${JSON.stringify({ command, ...result }, null, 2)}\n` : formatServeBench(result, command));
    return 0;
  },
};
