import assert from 'node:assert/strict';
import test from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { checkGenerationJob } from '../jobs/generation-job.js';
import { jobErrorForCli, jobFieldSource, withJobFlags, optionErrorForCli } from './job-errors.js';

const sources = { history: 'h.json', target: 't.json' };

test('job fields map to the flag or file that supplied them', () => {
  const table: [string, string, string][] = [
    ['history.items[3].title', '--history h.json', 'items[3].title'],
    ['target.item', '--target t.json', 'item'],
    ['earlyFraction', '--early-fraction', ''],
    ['weights[1]', '--weights', ''],
    ['promptStyle', '--prompt-style', ''],
    ['soft.weight', '--soft-weight', ''],
    ['soft.llmBody', '--llm-body', ''],
    ['soft.module', '--soft', ''],
    ['soft', '--soft', ''],
  ];
  for (const [field, label, rest] of table) {
    const source = jobFieldSource(field, sources);
    assert.equal(source.label, label, field);
    assert.equal(source.rest, rest, field);
  }
});

function cliError(value: unknown): PmgError {
  try {
    withJobFlags(() => checkGenerationJob(value), sources);
  } catch (error) {
    assert.ok(error instanceof PmgError);
    return error;
  }
  assert.fail('no error');
}

const base = { scene: 'movie', history: { items: [{ title: 'Alien' }] }, target: { item: { title: 'Up' } } };

test('a history field error names --history and the file, code invalid-input (exit 4)', () => {
  const error = cliError({ ...base, history: { items: [{ title: 'a' }, { title: 'b' }, { title: 'c' }, { title: 5 }] } });
  assert.equal(error.message, '--history h.json: items[3].title must be a string');
  assert.equal(error.code, 'invalid-input');
  assert.equal(error.details.field, 'history.items[3].title');
});

test('a flag field error names the flag, code invalid-argument (exit 2)', () => {
  assert.equal(cliError({ ...base, steps: 0 }).message, '--steps must be a whole number between 1 and 1000, got 0');
  assert.equal(cliError({ ...base, soft: { module: '/s', weight: -1 } }).message, '--soft-weight must be a number >= 0, got -1');
  const cross = cliError({ ...base, targetWeight: 2 });
  assert.equal(cross.code, 'invalid-argument');
  assert.match(cross.message, /^--target-weight 2 needs mode embed/);
});

test('errors without a field path pass through unchanged', () => {
  const plain = new PmgError('invalid-input', 'a generation job must be an object');
  assert.equal(jobErrorForCli(plain, sources), plain);
  const other = new Error('boom');
  assert.equal(jobErrorForCli(other, sources), other);
});

test('an option error from below cli/ is told as the command flag, only when the command has that flag', () => {
  const options = { models: {}, 'final-decoder': {}, prefix: {} };
  const mapped = optionErrorForCli(new PmgError('invalid-argument', "models 'x' is neither a folder nor a preset", { details: { field: 'models' } }), options);
  assert.ok(mapped instanceof PmgError);
  assert.equal(mapped.message, "--models 'x' is neither a folder nor a preset");
  assert.equal(mapped.details.flag, '--models');
  const camel = optionErrorForCli(new PmgError('invalid-argument', 'finalDecoder must be vae or tiny', { details: { field: 'finalDecoder' } }), options);
  assert.equal((camel as PmgError).message, '--final-decoder must be vae or tiny');
  const alias = optionErrorForCli(new PmgError('invalid-argument', 'P must be a whole number', { details: { field: 'P' } }), options);
  assert.equal((alias as PmgError).message, '--prefix must be a whole number');
  const other = new PmgError('invalid-argument', 'llm is empty', { details: { field: 'llm' } });
  assert.equal(optionErrorForCli(other, options), other, 'a command without --llm keeps the neutral words');
  const config = new PmgError('file-not-found', 'modelsfolder x', { details: { field: 'models' } });
  assert.equal(optionErrorForCli(config, options), config, 'the field must be a whole word at the start');
});
