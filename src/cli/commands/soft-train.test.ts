/**
 * `pmg soft train` as a user runs it, on the fixtures and the MovieLens excerpt: the full variant's run folder; a run
 * killed with SIGKILL (a child process) after its first checkpoint and resumed writes the same log as an
 * uninterrupted run (seconds aside); the trained run/soft drives `pmg generate --soft`; text-fit is labelled; bad
 * input is one line, a non-zero exit and nothing written.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { assetPath, packageRoot } from '../../core/package-root.js';
import { writeFixtures } from '../../fixtures/write-fixtures.js';
import { writeTinyLlmBody } from '../../fixtures/tiny-llm-body.js';
import { initSoftModule } from '../../soft/soft-init.js';
import { readSoftModule, writeSoftModule } from '../../soft/soft-module.js';
import { tinyLlmBodyIdentity } from '../../fixtures/tiny-soft.js';
import { writePosters } from '../../testing/eval-fixture.js';
import { generateArgv, writeMovieInputs } from '../../testing/movie-inputs.js';
import { runCli } from '../../testing/run-cli.js';

const excerpt = assetPath('test-data', 'movielens-excerpt');
let root: string;
const env = (): NodeJS.ProcessEnv => ({ PMG_OFFLINE: '1', PMG_CACHE_DIR: join(root, 'cache') });

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-soft-train-'));
  await writeFixtures(join(root, 'fx'), { only: ['llm', 'clip', 'sd', 'soft', 'llm-body'] });
  await writePosters(excerpt, join(root, 'posters'));
});
after(() => rmSync(root, { recursive: true, force: true }));

const pmg = (...argv: string[]) => runCli(argv, { cwd: root, env: env() });
const base = [
  'soft',
  'train',
  '--dataset',
  'movielens',
  '--data',
  excerpt,
  '--images',
  'posters',
  '--llm',
  'fx/llm-body',
  '--sd',
  'fx/sd',
  '--soft',
  'fx/soft',
  '--resolution',
  '64',
  '--batch',
  '1',
  '--accumulation',
  '1',
  '--limit',
  '6',
  '--val-samples',
  '2',
  '--lr',
  '0.01',
  '--threads',
  '1',
];
const strip = (dir: string) =>
  readFileSync(join(root, dir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => ({ ...JSON.parse(l), seconds: 0 }));

test('--train full (the default): run folder, trained prefix and tokens, labelled module; run/soft drives pmg generate --soft', async () => {
  const run = await pmg(...base, '--steps', '4', '--val-every', '2', '--checkpoint-every', '2', '--out', 'run');
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stderr,
    /^pmg: 6 training and 2 validation samples; skipped: .*; variant: full \(prefix \+ tokens \+ map; gradients through the UNet and the LLM body\)$/m,
  );
  assert.match(run.stdout, /^trained 4 steps \(full .*\); validation loss \d+\.\d{5}; module .*run\/soft$/m);
  assert.deepEqual(readdirSync(join(root, 'run')).sort(), ['checkpoint', 'log.jsonl', 'report.html', 'soft']);
  const log = strip('run');
  assert.deepEqual(
    log.map((l) => [l.step, 'loss' in l, 'valLoss' in l]),
    [
      [0, false, true],
      [1, true, false],
      [2, true, false],
      [2, false, true],
      [3, true, false],
      [4, true, false],
      [4, false, true],
    ],
  );
  const config = JSON.parse(readFileSync(join(root, 'run/soft/soft_config.json'), 'utf8'));
  assert.equal(config.trainedWith, 'pmg soft train (full, diffusion loss)');
  const before = readFileSync(join(root, 'fx/soft/soft.safetensors'));
  const after = readFileSync(join(root, 'run/soft/soft.safetensors'));
  assert.equal(before.length, after.length);
  assert.notDeepEqual(after, before);
  assert.match(readFileSync(join(root, 'run/report.html'), 'utf8'), /Variant: full/);

  writeMovieInputs(root, [{ title: 'Heat', genres: ['Action', 'Crime'] }], { title: 'Alien', genres: ['Horror'] });
  const gen = await pmg(...generateArgv(2), '--soft', 'run/soft', '--out', 'gen');
  assert.equal(gen.code, 0, gen.stderr);
  const result = JSON.parse(readFileSync(join(root, 'gen/result.json'), 'utf8'));
  assert.equal(result.soft.module, join(root, 'run', 'soft'));
  assert.deepEqual(
    result.candidates.map((c: { contextTokens: number }) => c.contextTokens),
    [81, 81],
  );
});

test('--no-prefix and --no-tokens keep those tensors as given; the rest is trained', async () => {
  const start = readSoftModule(join(root, 'fx/soft')).tensors;
  for (const [flag, frozen, trained] of [
    ['--no-prefix', 'prefix', 'tokens'],
    ['--no-tokens', 'tokens', 'prefix'],
  ] as const) {
    const out = `run${flag}`;
    const run = await pmg(...base, '--steps', '1', '--val-every', '0', flag, '--out', out);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(`variant: full \\(prefix${flag === '--no-prefix' ? ' frozen' : ''} \\+ tokens${flag === '--no-tokens' ? ' frozen' : ''} \\+ map`),
    );
    const module = readSoftModule(join(root, out, 'soft'));
    assert.deepEqual(module.tensors[frozen], start[frozen], `${flag}: ${frozen} kept`);
    assert.notDeepEqual(module.tensors[trained], start[trained], `${flag}: ${trained} trained`);
    assert.notDeepEqual(module.tensors.mapWeight, start.mapWeight);
    assert.match(module.config.trainedWith, new RegExp(`${frozen} frozen`));
  }
});

test('a run killed with SIGKILL after its first checkpoint and resumed writes the log of an uninterrupted run', async () => {
  const flags = [...base, '--train', 'map', '--steps', '40', '--val-every', '10', '--checkpoint-every', '2'];
  const whole = await pmg(...flags, '--out', 'run-whole');
  assert.equal(whole.code, 0, whole.stderr);
  const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'pmg.js'), ...flags, '--out', 'run-killed'], { cwd: root, env: env(), stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
  const state = join(root, 'run-killed', 'checkpoint', 'state.json');
  let killed = false;
  while (child.exitCode === null && child.signalCode === null) {
    if (existsSync(state)) {
      child.kill('SIGKILL');
      killed = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const signal = await exited;
  assert.ok(killed && signal === 'SIGKILL', 'the child was killed after its first checkpoint');
  const step = JSON.parse(readFileSync(state, 'utf8')).step as number;
  assert.ok(step < 40, `killed at checkpoint step ${step}`);
  const resumed = await pmg(...flags, '--out', 'run-killed');
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /\(resumed at step \d+\)/);
  assert.deepEqual(strip('run-killed'), strip('run-whole'));
  assert.deepEqual(readFileSync(join(root, 'run-killed/soft/soft.safetensors')), readFileSync(join(root, 'run-whole/soft/soft.safetensors')));
});

test('--objective text-fit: labelled a text-space fit in the output, the log, the report and trainedWith', async () => {
  const run = await pmg(...base, '--objective', 'text-fit', '--out', 'run-text');
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^text-fit \(text-space ridge fit of the map, not the diffusion loss\) on 24 rows; validation denoising loss \d+\.\d+; module /m);
  assert.match(run.stderr, /variant: text-fit \(closed-form ridge in the text encoder space; not the diffusion loss\)/);
  const [line] = strip('run-text');
  assert.equal(line.objective, 'text-fit');
  assert.equal(line.ridge, 1e-3);
  assert.equal(
    JSON.parse(readFileSync(join(root, 'run-text/soft/soft_config.json'), 'utf8')).trainedWith,
    'pmg soft train (text-fit: ridge fit in text space, not the diffusion loss)',
  );
  assert.match(readFileSync(join(root, 'run-text/report.html'), 'utf8'), /text-space ridge fit/);
});

test('bad input: one line, non-zero exit, nothing written', async () => {
  const tiny = tinyLlmBodyIdentity();
  const otherLlm = initSoftModule({
    body: { id: 'other', config: { ...tiny.config }, fingerprint: 'f'.repeat(64) },
    condWidth: 768,
    scene: 'movie',
    templateVersion: '1',
  });
  writeSoftModule(join(root, 'soft-other-llm'), otherLlm.config, otherLlm.tensors);
  await writeTinyLlmBody(join(root, 'gqa-body'), 'gqa');
  const without = (flag: string) => base.filter((_, i) => base[i] !== flag && base[i - 1] !== flag);
  const cases: [string[], RegExp][] = [
    [[...without('--images')], /^pmg: missing --images \(pmg soft train --help lists the flags\)$/],
    [[...base, '--images', 'nowhere'], /^pmg: --images .*nowhere does not exist; give the folder of target images named <item id>\.png\|jpg$/],
    [[...base, '--soft', 'soft-other-llm'], /^pmg: .*soft-other-llm.* (LLM|fingerprint).*$/],
    [[...base, '--train', 'lora'], /^pmg: --train 'lora': use full or map$/],
    [[...base, '--train', 'map', '--no-prefix'], /^pmg: --no-prefix is an ablation of --train full; --train map trains the map only already$/],
    [[...base, '--objective', 'clip'], /^pmg: --objective 'clip': use diffusion or text-fit$/],
    [[...base, '--lr=-1'], /^pmg: --lr must be a number > 0, got -1$/],
    [[...base, '--resolution', '100'], /^pmg: --resolution 100: use a multiple of 64$/],
    [[...base, '--checkpoint-segments', '0'], /checkpoint-segments/],
    [[...base, '--device', 'tpu'], /^pmg: --device must be cpu or cuda, got 'tpu'$/],
    [[...base, '--dataset', 'netflix'], /^pmg: --dataset 'netflix': use movielens, pog or stickers$/],
    [[...base, '--schedule', 'step'], /schedule/],
    [[...base, '--llm', 'gqa-body'], /^pmg: .*GroupQueryAttention.*standard ONNX ops.*$/],
  ];
  for (const [argv, message] of cases) {
    const run = await pmg(...argv, '--out', 'bad-run');
    assert.notEqual(run.code, 0, argv.join(' '));
    // The error is the last line; only a model error comes after the samples line (which needs the data read).
    const lines = run.stderr.trim().split('\n');
    assert.match(lines.at(-1)!, message, argv.join(' '));
    assert.ok(lines.length === 1 || (lines.length === 2 && /^pmg: \d+ training and \d+ validation samples/.test(lines[0]!)), run.stderr);
    assert.ok(!existsSync(join(root, 'bad-run')), `${argv.join(' ')}: wrote bad-run`);
  }
});
