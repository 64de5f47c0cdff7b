import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../testing/run-cli.js';
import { commands } from './commands/index.js';
import { fileSystemError } from './main.js';

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
    // Found before anything is written: the folder above the output is a file.
    const result = await run('models', 'fixtures', join(file, 'sub'), '--only', 'clip');
    assert.equal(result.code, 74);
    assert.match(result.stderr, /^pmg: the fixtures folder .*a-file\/sub: .*a-file is a file, not a folder/);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1);
    // Met while writing: the operating system's error becomes the same kind of line.
    const raised = Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${file}/sub'`), { code: 'ENOTDIR', path: `${file}/sub`, syscall: 'mkdir' });
    assert.equal(fileSystemError(raised), `cannot mkdir ${file}/sub: a part of the path is a file, not a folder; check the path and its permissions`);
    assert.equal(fileSystemError(new Error('plain')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('global flags are accepted before or after the command name (and between a group and its subcommand)', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'pmg-main-'));
  try {
    const env = { PMG_CACHE_DIR: join(cwd, 'cache') };
    const runIn = (...argv: string[]) => runCli(argv, { cwd, env });
    // --offline reaches the command in every position: pulling a repo offline is refused with exit code 6.
    for (const argv of [
      ['--offline', 'models', 'pull', 'nobody/nothing'],
      ['models', 'pull', 'nobody/nothing', '--offline'],
      ['models', '--offline', 'pull', 'nobody/nothing'],
      ['--debug', '--offline', 'models', 'pull', 'nobody/nothing'],
    ]) {
      const result = await runIn(...argv);
      assert.equal(result.code, 6, `${argv.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /^pmg: offline mode: nobody\/nothing@main has not been pulled/, argv.join(' '));
    }
    // --debug before the command adds the stack trace, as after it.
    const debug = await runIn('--debug', 'models', 'pull', 'nobody/nothing', '--offline');
    assert.match(debug.stderr, /\n\s+at /);
    // --help before the command is the command's help.
    for (const argv of [
      ['--help', 'demo'],
      ['-h', 'models', 'pull'],
      ['--offline', 'demo', '--help'],
    ]) {
      const result = await runIn(...argv);
      assert.equal(result.code, 0, argv.join(' '));
      assert.match(result.stdout, new RegExp(`^Usage: pmg ${argv.filter((a) => !a.startsWith('-')).join(' ')} `));
    }
    // A command's own flag with a value may come first too; one it does not have is still refused.
    writeFileSync(join(cwd, 'h.json'), '[{"title": "Heat (1995)", "genres": ["Action"]}]');
    const config = await runIn('--config', 'missing.json', 'keywords', '--scene', 'movie', '--history', 'h.json');
    assert.equal(config.code, 3, config.stderr);
    assert.match(config.stderr, /^pmg: config file .*missing\.json does not exist; check --config/);
    const refused = await runIn('--config', 'x.json', 'models', 'list');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^pmg: Unknown option '--config'; see 'pmg models list --help'/);
    const unknown = await runIn('--bogus');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^pmg: unknown option '--bogus' before the command/);
    assert.equal((await runIn('--offline')).code, 0, 'global flags alone print the help');
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
