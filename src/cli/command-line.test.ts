import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command } from './command.js';
import { splitCommandLine } from './command-line.js';

const command = (name: string, options: Command['options'] = {}): Command => ({ name, summary: '', usage: '', options, run: async () => 0 });
const commands = [
  command('demo', { out: { type: 'string', short: 'o', description: '' }, tiny: { type: 'boolean', description: '' } }),
  command('models pull', { revision: { type: 'string', description: '' } }),
  command('models list'),
];
const globals: Command['options'] = { offline: { type: 'boolean', description: '' }, debug: { type: 'boolean', description: '' } };
const split = (...argv: string[]) => {
  const line = splitCommandLine(argv, commands, globals);
  return { name: line.command?.name, words: line.words, args: line.args };
};

test('the command is found wherever the flags stand; flags before it move behind it in order', () => {
  assert.deepEqual(split('--offline', 'demo', '--tiny'), { name: 'demo', words: ['demo'], args: ['--offline', '--tiny'] });
  assert.deepEqual(split('demo', '--tiny', '--offline'), { name: 'demo', words: ['demo'], args: ['--tiny', '--offline'] });
  assert.deepEqual(split('models', '--offline', 'pull', 'a/b'), { name: 'models pull', words: ['models', 'pull'], args: ['--offline', 'a/b'] });
  assert.deepEqual(split('--revision', 'v1', 'models', 'pull', 'a/b'), { name: 'models pull', words: ['models', 'pull'], args: ['--revision', 'v1', 'a/b'] });
});

test('a string flag before the command keeps its value (even one that looks like a command word)', () => {
  assert.deepEqual(split('-o', 'demo', 'demo'), { name: 'demo', words: ['demo'], args: ['-o', 'demo'] });
  assert.deepEqual(split('--out=demo', 'demo'), { name: 'demo', words: ['demo'], args: ['--out=demo'] });
});

test('no command: the words read so far and the flags', () => {
  assert.deepEqual(split('--offline'), { name: undefined, words: [], args: ['--offline'] });
  assert.deepEqual(split('models'), { name: undefined, words: ['models'], args: [] });
  assert.deepEqual(split('models', 'nope', '--x'), { name: undefined, words: ['models', 'nope'], args: ['--x'] });
  assert.deepEqual(split('frob', 'demo'), { name: undefined, words: ['frob'], args: ['demo'] });
  assert.deepEqual(split('--', 'demo'), { name: undefined, words: [], args: ['--', 'demo'] });
});
