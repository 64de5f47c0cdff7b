/** `pmg bench queue`: the BullMQ queue's cost per job against in-process, and throughput with 1 and 2 workers (fixture models, own redis-server). */
import { QUEUE_BENCH_DEFAULTS, benchQueue, formatQueueBench } from '../../bench/queue.js';
import { booleanOption, type Command } from '../command.js';
import { fixtureBenchOptions, fixtureJobSettings } from '../fixture-bench-options.js';
import { intOption } from '../option-values.js';

const d = QUEUE_BENCH_DEFAULTS;

export const benchQueueCommand: Command = {
  name: 'bench queue',
  summary: 'the cost of the Redis job queue: a unit through BullMQ against in process (ms and % per job), and jobs/min with 1 and 2 pmg worker processes',
  usage: '[--jobs N] [--units N] [--steps N] [--size PX] [--unet-scale S] [--json]',
  options: {
    jobs: { type: 'string', value: 'N', description: 'timed units per path (medians)', default: String(d.jobs) },
    units: { type: 'string', value: 'N', description: 'units per throughput run (1, then 2 workers)', default: String(d.units) },
    ...fixtureBenchOptions(d, 'a unit'),
  },
  details: [
    "Starts its own redis-server on a free loopback port (persistence off; Debian's redis-server, or PMG_REDIS_SERVER=PATH).",
    'The workers are CPU-bound: on a machine with few cores, two workers share them and cannot double the throughput.',
    'Figures and how to read them: docs/scale-out.md "What the queue costs".',
  ].join('\n'),
  async run(context) {
    const options = {
      jobs: intOption(context, 'jobs', { min: 1, max: 200, fallback: d.jobs }),
      units: intOption(context, 'units', { min: 1, max: 1000, fallback: d.units }),
      ...fixtureJobSettings(context, d),
    };
    const result = await benchQueue(options, (line) => void context.io.stderr.write(`${line}\n`));
    const command = `pmg bench queue --jobs ${options.jobs} --units ${options.units} --steps ${options.steps} --size ${options.size} --unet-scale ${options.unetScale}`;
    context.io.stdout.write(booleanOption(context, 'json') ? `${JSON.stringify({ command, ...result }, null, 2)}\n` : formatQueueBench(result, command));
    return 0;
  },
};
