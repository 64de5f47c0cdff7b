/** `pmg bench all` (what `npm run bench` runs): every benchmark in turn, each with its default settings. */
import type { Command } from '../command.js';
import { benchDiffusionCommand } from './bench-diffusion.js';
import { benchMetricsCommand } from './bench-metrics.js';
import { benchSearchCommand } from './bench-search.js';
import { benchSoftCommand } from './bench-soft.js';
import { benchQueueCommand } from './bench-queue.js';
import { benchServeCommand } from './bench-serve.js';
import { benchTrainCommand } from './bench-train.js';

/** Every `pmg bench X` command, in the order `pmg bench all` runs them (the CLI lists them from here too). */
export const benchCommands: Command[] = [
  benchDiffusionCommand,
  benchSearchCommand,
  benchMetricsCommand,
  benchSoftCommand,
  benchTrainCommand,
  benchServeCommand,
  benchQueueCommand,
];

export const benchAllCommand: Command = {
  name: 'bench all',
  summary: `run every benchmark with its defaults (${benchCommands.map((b) => b.name).join(', ')}); what npm run bench runs`,
  usage: '',
  options: {},
  async run(context) {
    for (const bench of benchCommands) {
      context.io.stdout.write(`\n== pmg ${bench.name} ==\n`);
      const values = Object.fromEntries(Object.entries(bench.options).flatMap(([name, spec]) => (spec.default === undefined ? [] : [[name, spec.default]])));
      const code = await bench.run({ ...context, values, positionals: [] });
      if (code) return code;
    }
    return 0;
  },
};
