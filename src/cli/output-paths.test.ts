import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { runCli } from '../testing/run-cli.js';
import { checkOutputFile, checkOutputFolder } from './output-paths.js';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'pmg-out-'));
  writeFileSync(join(root, 'a-file'), 'x');
  mkdirSync(join(root, 'a-folder'));
  mkdirSync(join(root, 'a-folder.png'));
  writeFileSync(join(root, 'h.json'), '[{"title": "Heat (1995)"}]');
  writeFileSync(join(root, 't.json'), '{"title": "Drive (2011)"}');
});
after(() => rmSync(root, { recursive: true, force: true }));

const fileSystem = (pattern: RegExp) => (error: unknown) => error instanceof PmgError && error.code === 'file-system' && pattern.test(error.message);

test('an output folder may be new or a folder; a file there or above it is refused', () => {
  checkOutputFolder(join(root, 'a-folder'), '--out');
  checkOutputFolder(join(root, 'new', 'deeper'), '--out');
  assert.throws(() => checkOutputFolder(join(root, 'a-file'), '--out'), fileSystem(/^--out .*a-file is a file; give a folder/));
  assert.throws(() => checkOutputFolder(join(root, 'a-file', 'x', 'y'), '--out'), fileSystem(/^--out .*a-file\/x\/y: .*a-file is a file, not a folder/));
});

test('an output file must not be a folder, nor have a file among its folders', () => {
  checkOutputFile(join(root, 'a-folder', 'x.png'), '--out');
  checkOutputFile(join(root, 'a-file'), '--out');
  assert.throws(() => checkOutputFile(join(root, 'a-folder'), '--out'), fileSystem(/^--out .*a-folder is a folder; give a file name/));
  assert.throws(() => checkOutputFile(join(root, 'a-file', 'x.png'), '--out'), fileSystem(/^--out .*a-file\/x\.png: .*a-file is a file, not a folder/));
});

test('every command with an output path exits 74 (the README table) when a file stands where a folder is wanted, before loading models', async () => {
  // Model folders that do not exist: the output check must come first, or these would fail with another code.
  const generate = ['generate', '--scene', 'movie', '--history', 'h.json', '--target', 't.json', '--models', 'no-such-models'];
  const evaluate = ['eval', '--dataset', 'movielens', '--data', 'no-such-data', '--models', 'no-such-models', '--metrics', 'clip-t'];
  const txt2img = ['txt2img', '--model', 'no-such-model', '--prompt', 'a'];
  const cases: string[][] = [
    [...generate, '--out', 'a-file'],
    [...generate, '--out', 'a-file/sub'],
    [...evaluate, '--out', 'a-file'],
    [...evaluate, '--out', 'a-file/sub'],
    ['eval', '--human-sheet', '--out', 'a-file'],
    ['demo', '--models', 'no-such-models', '--out', 'a-file'],
    ['demo', '--tiny', '--out', 'a-file/sub'],
    [...txt2img, '--out', 'a-file/x.png'],
    [...txt2img, '--out', 'a-folder.png'],
    ['models', 'fixtures', 'a-file', '--only', 'clip'],
  ];
  for (const argv of cases) {
    const result = await runCli(argv, { cwd: root, env: { PMG_OFFLINE: '1', PMG_CACHE_DIR: join(root, 'cache') } });
    assert.equal(result.code, 74, `${argv.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /^pmg: (--out|the fixtures folder) \S+( is a f(ile|older)|: \S+ is a file, not a folder)/, argv.join(' '));
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
  }
  assert.deepEqual(readdirSync(root).sort(), ['a-file', 'a-folder', 'a-folder.png', 'h.json', 't.json'], 'nothing written');
});
