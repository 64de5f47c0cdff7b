/** `pmg bench soft`: the soft preference stage's cost per user against keyword extraction (bench/soft.ts), on fixture models by default. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SOFT_BENCH_DEFAULTS, benchSoft, formatSoftBench } from '../../bench/soft.js';
import { PmgError } from '../../errors/pmg-error.js';
import { fixtureWriters, writeFixtures } from '../../fixtures/write-fixtures.js';
import { OnnxCausalLanguageModel } from '../../providers/llm/onnx-causal-lm.js';
import { loadLlmBody } from '../../runtime/llm-body.js';
import { readSoftModule } from '../../soft/soft-module.js';
import { booleanOption, stringOption, type Command } from '../command.js';
import { intOption } from '../option-values.js';
import { FOLDER_LLM_BODY } from '../soft-options.js';
import { modelStoreForCommand } from '../store-from-context.js';

const d = SOFT_BENCH_DEFAULTS;

export const benchSoftCommand: Command = {
  name: 'bench soft',
  summary: 'time the soft preference stage (one LLM-body pass) against keyword extraction per user (fixture models)',
  usage: '[--repeats N] [--users N] [--models DIR] [--json]',
  options: {
    repeats: { type: 'string', value: 'N', description: 'timed repeats per user (medians)', default: String(d.repeats) },
    users: { type: 'string', value: 'N', description: "how many of the demo sample's users (1 to 3)", default: String(d.users) },
    models: {
      type: 'string',
      value: 'DIR',
      description: `a folder with llm/, ${FOLDER_LLM_BODY}/ and soft/ as 'pmg models fixtures' writes it (default: fresh fixtures in a temporary folder)`,
    },
    json: { type: 'boolean', description: 'print JSON' },
  },
  details: [
    "Per user (the demo sample's MovieLens users): keywords = the preference and target prompts through the keyword LLM (greedy);",
    'soft = the soft prompt, tokenize, embed, one body pass with the prefix, the map; both without a cache. The soft stage runs',
    'once per user whatever the number of candidates, methods or α values (docs/soft.md).',
  ].join('\n'),
  async run(context) {
    const repeats = intOption(context, 'repeats', { min: 1, fallback: d.repeats });
    const users = intOption(context, 'users', { min: 1, max: 3, fallback: d.users });
    const given = stringOption(context, 'models');
    const temp = given === undefined ? mkdtempSync(join(tmpdir(), 'pmg-bench-soft-')) : undefined;
    try {
      const dir = given === undefined ? temp! : resolve(context.io.cwd, given);
      if (temp) {
        if (!Object.hasOwn(fixtureWriters, FOLDER_LLM_BODY)) {
          throw new PmgError('unsupported', `this build writes no ${FOLDER_LLM_BODY}/ fixture; pass --models DIR with llm/, ${FOLDER_LLM_BODY}/ and soft/`);
        }
        await writeFixtures(temp, { only: ['llm', FOLDER_LLM_BODY, 'soft'] });
      }
      const module = readSoftModule(join(dir, 'soft'));
      const llm = new OnnxCausalLanguageModel({ dir: join(dir, 'llm'), id: `onnx:${join(dir, 'llm')}` });
      await llm.load();
      const body = await loadLlmBody(join(dir, FOLDER_LLM_BODY), { store: modelStoreForCommand(context) });
      try {
        const result = await benchSoft({ llm, body, module }, { repeats, users }, (line) => void context.io.stderr.write(`${line}\n`));
        const command = `pmg bench soft --repeats ${repeats} --users ${users}${given !== undefined ? ` --models ${given}` : ''}`;
        context.io.stdout.write(booleanOption(context, 'json') ? `${JSON.stringify({ command, ...result }, null, 2)}\n` : formatSoftBench(result, command));
        return 0;
      } finally {
        await body.close?.();
      }
    } finally {
      if (temp) rmSync(temp, { recursive: true, force: true });
    }
  },
};
