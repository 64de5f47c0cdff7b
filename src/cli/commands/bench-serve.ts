/** `pmg bench serve`: the cost of serving a job against running it directly, status and SSE latency (fixture models). */
import { SERVE_BENCH_DEFAULTS, benchServe, formatServeBench } from '../../bench/serve.js';
import { booleanOption, type Command } from '../command.js';
import { fixtureBenchOptions, fixtureJobSettings } from '../fixture-bench-options.js';
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
    'status-calls': {
      type: 'string',
      value: 'N',
      description: 'GET /v1/generations/{id} calls per phase (idle, busy)',
      default: String(d.statusCalls),
    },
    ...fixtureBenchOptions(d, 'the job'),
  },
  async run(context) {
    const options = {
      jobs: intOption(context, 'jobs', { min: 1, max: 100, fallback: d.jobs }),
      ...fixtureJobSettings(context, d),
      statusCalls: intOption(context, 'status-calls', {
        min: 1,
        max: 10_000,
        fallback: d.statusCalls,
      }),
    };
    const result = await benchServe(options, (line) => void context.io.stderr.write(`${line}\n`));
    const command = `pmg bench serve --jobs ${options.jobs} --steps ${options.steps} --size ${options.size} --status-calls ${options.statusCalls} --unet-scale ${options.unetScale}`;
    context.io.stdout.write(booleanOption(context, 'json') ? `${JSON.stringify({ command, ...result }, null, 2)}\n` : formatServeBench(result, command));
    return 0;
  },
};
