import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import type { CommandContext } from './command.js';
import { intOption, numberOption } from './option-values.js';

function context(values: Record<string, string>): CommandContext {
  return { values, positionals: [], io: { stdout: process.stdout, stderr: process.stderr, env: {}, cwd: '/' }, globals: { debug: false, offline: false } };
}

function invalid(message: string): (error: unknown) => boolean {
  return (error) => error instanceof PmgError && error.code === 'invalid-argument' && error.message === message;
}

test('intOption: absent gives the fallback or undefined; decimal text within the range gives its value', () => {
  assert.equal(intOption(context({}), 'steps'), undefined);
  assert.equal(intOption(context({}), 'steps', { min: 1, fallback: 10 }), 10);
  assert.equal(intOption(context({ steps: '12' }), 'steps', { min: 1, fallback: 10 }), 12);
  assert.equal(intOption(context({ seed: ' -3 ' }), 'seed'), -3);
  assert.equal(intOption(context({ n: '16' }), 'n', { min: 1, max: 16 }), 16);
});

test('intOption: not a decimal integer, or out of range, names the flag, the allowed values and the text', () => {
  assert.throws(() => intOption(context({ limit: 'many' }), 'limit', { min: 0 }), invalid("--limit must be a non-negative integer, got 'many'"));
  assert.throws(() => intOption(context({ steps: '0' }), 'steps', { min: 1 }), invalid("--steps must be a positive integer, got '0'"));
  assert.throws(() => intOption(context({ batch: '17' }), 'batch', { min: 1, max: 16 }), invalid("--batch must be an integer from 1 to 16, got '17'"));
  assert.throws(() => intOption(context({ size: '4' }), 'size', { min: 8 }), invalid("--size must be an integer >= 8, got '4'"));
  for (const text of ['1.5', '1e3', '0x10', '', ' ', '9007199254740993']) {
    assert.throws(() => intOption(context({ seed: text }), 'seed'), invalid(`--seed must be an integer, got '${text}'`), text);
  }
  assert.throws(
    () => intOption(context({ seed: 'x' }), 'seed'),
    (error: unknown) => error instanceof PmgError && error.details.field === 'seed',
  );
});

test('numberOption: finite numbers; anything else names the flag and the text', () => {
  assert.equal(numberOption(context({}), 'alpha'), undefined);
  assert.equal(numberOption(context({}), 'guidance', 7.5), 7.5);
  assert.equal(numberOption(context({ alpha: '0.25' }), 'alpha'), 0.25);
  for (const text of ['abc', '', 'Infinity'])
    assert.throws(() => numberOption(context({ alpha: text }), 'alpha'), invalid(`--alpha must be a number, got '${text}'`), text);
});
