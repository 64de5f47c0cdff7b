import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../testing/run-cli.js';
import { commands } from './commands/index.js';

const run = (...argv: string[]) => runCli(argv, { cwd: tmpdir() });

test('pmg --help lists every command; each command has its own --help', async () => {
  const top = await run('--help');
  assert.equal(top.code, 0);
  for (const command of commands) {
    assert.ok(top.stdout.includes(command.name), `pmg --help lists ${command.name}`);
    const own = await run(...command.name.split(' '), '--help');
    assert.equal(own.code, 0, `pmg ${command.name} --help exits 0`);
    assert.ok(own.stdout.startsWith(`Usage: pmg ${command.name}`), `pmg ${command.name} --help shows its usage`);
    for (const flag of Object.keys(command.options)) assert.ok(own.stdout.includes(`--${flag}`), `pmg ${command.name} --help describes --${flag}`);
  }
});

test('a command group prints its subcommands; --help on it exits 0', async () => {
  for (const argv of [['models'], ['models', '--help'], ['bench', '-h']]) {
    const result = await run(...argv);
    assert.equal(result.code, 0, argv.join(' '));
    assert.match(result.stdout, /Subcommands:/);
    assert.equal(result.stderr, '');
  }
});

test('user errors are one line on stderr with a non-zero exit code, never a stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /^pmg: unknown command 'frobnicate'; run 'pmg --help'/],
    [['models', 'frobnicate'], /^pmg: unknown command 'pmg models frobnicate'/],
    [['txt2img', '--bogus'], /^pmg: Unknown option '--bogus'; see 'pmg txt2img --help'/],
    [['txt2img', '--guidance', '-1'], /^pmg: --guidance needs a value; to give a value starting with '-', write --guidance=-VALUE/],
    [['models', 'list', 'extra'], /^pmg: unexpected argument 'extra'/],
  ];
  for (const [argv, message] of cases) {
    const result = await run(...argv);
    assert.equal(result.code, 2, argv.join(' '));
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one line for ${argv.join(' ')}: ${result.stderr}`);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  }
});

test('--version prints the package version', async () => {
  const result = await run('--version');
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('a file-system problem with a path the user gave is one line with exit code 74, not an internal error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pmg-main-'));
  try {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const result = await run('models', 'fixtures', join(file, 'sub'), '--only', 'clip');
    assert.equal(result.code, 74);
    assert.match(result.stderr, /^pmg: cannot \w+ .*a-file.*: a part of the path is a file, not a folder; check the path/);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
