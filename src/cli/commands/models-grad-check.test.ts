import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeTinySd } from '../../fixtures/tiny-sd.js';
import { runCli } from '../../testing/run-cli.js';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'pmg-grad-check-cli-'));
  writeTinySd(join(work, 'sd'));
});
after(() => rm(work, { recursive: true, force: true }));

const run = (argv: string[]) => runCli(argv, { cwd: work, env: { HOME: work, PMG_CACHE_DIR: join(work, 'cache') } });

test('pmg models grad-check builds and loads the fixture UNet gradient graph, writing nothing beside it', async () => {
  const result = await run([
    'models',
    'grad-check',
    'sd/unet/model.onnx',
    '--wrt',
    'encoder_hidden_states,sample',
    '--output',
    'out_sample',
    '--head',
    'mse',
    '--json',
  ]);
  assert.equal(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout) as { differentiated: Record<string, number>; backwardNodes: number };
  assert.equal(summary.differentiated['Conv'], 4);
  assert.equal(summary.differentiated['GroupNormalization'], 4);
  assert.equal(summary.differentiated['Sin'], undefined, 'the timestep embedding is not differentiated');
  assert.ok(summary.backwardNodes > 0);
  assert.deepEqual((await readdir(join(work, 'sd', 'unet'))).sort(), ['config.json', 'model.onnx'], 'nothing new beside the model');
  const text = await run([
    'models',
    'grad-check',
    'sd/unet/model.onnx',
    '--wrt',
    'encoder_hidden_states',
    '--output',
    'out_sample',
    '--checkpoint-segments',
    '2',
  ]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /gradient graph for encoder_hidden_states → out_sample \(cotangent head, 2 recomputed segments\)/);
  assert.match(text.stdout, /outputs: out_sample, grad_encoder_hidden_states/);
});

test('pmg models grad-check: bad input is one line and a non-zero exit', async () => {
  const cases: [string[], RegExp][] = [
    [['sd/unet/model.onnx', '--wrt', 'timestep', '--output', 'out_sample'], /input 'timestep' is not a float tensor/],
    [['sd/unet/model.onnx', '--output', 'out_sample'], /--wrt needs at least one input name/],
    [['sd/unet/model.onnx', '--wrt', 'sample'], /--output needs the output/],
    [['sd/unet/model.onnx', '--wrt', 'sample', '--output', 'out_sample', '--head', 'l1'], /--head must be cotangent or mse, got 'l1'/],
    [
      ['sd/unet/model.onnx', '--wrt', 'sample', '--output', 'out_sample', '--checkpoint-segments', 'two'],
      /--checkpoint-segments must be a whole number ≥ 1, got 'two'/,
    ],
    [['nope.onnx', '--wrt', 'sample', '--output', 'out_sample'], /nope\.onnx does not exist/],
  ];
  for (const [argv, message] of cases) {
    const result = await run(['models', 'grad-check', ...argv]);
    assert.notEqual(result.code, 0, argv.join(' '));
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  }
});
