import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeTinySd } from '../../fixtures/tiny-sd.js';
import { runCli, type CliRun } from '../../testing/run-cli.js';

let root: string;
let model: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'pmg-txt2img-'));
  model = writeTinySd(join(root, 'model'));
  mkdirSync(join(root, 'out'));
});
after(() => rmSync(root, { recursive: true, force: true }));

function run(...args: string[]): Promise<CliRun> {
  return runCli(args, { cwd: root, env: { PMG_OFFLINE: '1', PMG_CACHE_DIR: join(root, 'cache') } });
}

const common = ['--model', 'model', '--steps', '3', '--width', '64', '--height', '64', '--scheduler', 'ddim', '--threads', '1'];

test('same seed and flags give byte-identical PNGs; another seed another image', async () => {
  const a = await run('txt2img', ...common, '--prompt', 'a cute cat', '--seed', '7', '--out', 'out/a.png');
  assert.equal(a.code, 0, a.stderr);
  const b = await run('txt2img', ...common, '--prompt', 'a cute cat', '--seed', '7', '--out', 'out/b.png');
  const c = await run('txt2img', ...common, '--prompt', 'a cute cat', '--seed', '8', '--out', 'out/c.png');
  assert.equal(b.code + c.code, 0);
  const pa = readFileSync(join(root, 'out/a.png'));
  assert.equal(pa.subarray(1, 4).toString(), 'PNG');
  assert.ok(pa.equals(readFileSync(join(root, 'out/b.png'))));
  assert.ok(!pa.equals(readFileSync(join(root, 'out/c.png'))));
  assert.equal(a.stdout.trim(), join(root, 'out/a.png'));
});

test('--batch 2 writes FILE-0.png and FILE-1.png; image 0 equals the single image of the same seed', async () => {
  const r = await run('txt2img', ...common, '--prompt', 'a cute cat', '--seed', '7', '--batch', '2', '--out', 'out/k.png');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(root, 'out/k-0.png')) && existsSync(join(root, 'out/k-1.png')));
  assert.ok(!existsSync(join(root, 'out/k.png')));
  assert.ok(readFileSync(join(root, 'out/k-0.png')).equals(readFileSync(join(root, 'out/a.png'))));
  assert.ok(!readFileSync(join(root, 'out/k-1.png')).equals(readFileSync(join(root, 'out/a.png'))));
});

test('bad input: one line, non-zero exit, no file written', async () => {
  const noLayout = join(root, 'flat');
  mkdirSync(noLayout);
  cpSync(join(model, 'unet', 'model.onnx'), join(noLayout, 'unet.onnx'));
  const missing = join(root, 'missing-vae');
  cpSync(model, missing, { recursive: true });
  rmSync(join(missing, 'vae_decoder', 'model.onnx'));
  const cases: Array<[string[], RegExp]> = [
    [['--model', missing, '--prompt', 'a'], /lacks vae_decoder\/model\.onnx/],
    [['--model', noLayout, '--prompt', 'a'], /unet\.onnx at its top level.*diffusers ONNX layout/],
    [[...common, '--prompt', 'a', '--width', '60'], /width must be a multiple of 8/],
    [[...common, '--prompt', 'a', '--steps', '0'], /steps must be an integer from 1 to 1000/],
    [[...common, '--prompt', 'a', '--steps', '100000'], /steps must be an integer from 1 to 1000/],
    [[...common, '--prompt', 'a', '--guidance=-1'], /guidance must be a number >= 0/],
    [[...common, '--prompt', 'a', '--scheduler', 'warp'], /unknown scheduler 'warp'; known: .*ddim/],
    [[...common, '--prompt', 'a'.repeat(100_000)], /100000 characters; the limit is 10000/],
    [['--model', 'model', '--prompt', 'a', '--device', 'tpu'], /--device must be cpu or cuda/],
  ];
  for (const [args, pattern] of cases) {
    const r = await run('txt2img', ...args, '--out', 'out/bad.png');
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!existsSync(join(root, 'out/bad.png')));
  }
  assert.deepEqual(readdirSync(join(root, 'out')).filter((f) => f.includes('bad') || f.includes('.tmp-')), []);
});
