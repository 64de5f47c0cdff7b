import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { SeededRandom } from '../../core/random.js';
import { writeTinySd } from '../../fixtures/tiny-sd.js';
import type { GenerationRecord } from '../../pipeline/generation-record.js';
import { writeNpyFloat32 } from '../../testing/npy-file.js';
import { textChunks, walkPng } from '../../testing/png-chunks.js';
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
  assert.deepEqual(
    readdirSync(join(root, 'out')).filter((f) => f.includes('bad') || f.includes('.tmp-')),
    [],
  );
});

test('every PNG carries A1111 parameters and the pmg record; --json prints the record (and only it) on stdout', async () => {
  const r = await run(
    'txt2img',
    ...common,
    '--prompt',
    'a cute cat',
    '--negative',
    'blurry',
    '--seed',
    '7',
    '--batch',
    '2',
    '--guidance',
    '6',
    '--out',
    'out/j.png',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const record = JSON.parse(r.stdout) as GenerationRecord;
  assert.equal(record.prompt, 'a cute cat');
  assert.equal(record.scheduler.name, 'ddim');
  assert.equal(record.scheduler.className, 'DDIMScheduler');
  assert.equal(record.scheduler.config['steps_offset'], 1);
  assert.deepEqual(record.scheduler.timesteps, [667, 334, 1]);
  assert.deepEqual(record.images, [
    { index: 0, seed: 7, file: join(root, 'out/j-0.png') },
    { index: 1, seed: 8, file: join(root, 'out/j-1.png') },
  ]);
  for (const key of ['load', 'encode', 'denoise', 'decode', 'total']) assert.equal(typeof record.timings?.[key], 'number', key);
  const png = readFileSync(join(root, 'out/j-1.png'));
  assert.ok(walkPng(png).every((c) => c.crcOk));
  const texts = textChunks(png);
  assert.equal(texts['parameters']?.text, 'a cute cat\nNegative prompt: blurry\nSteps: 3, Sampler: DDIM, CFG scale: 6, Seed: 8, Size: 64x64, Model: model');
  const own = JSON.parse(texts['pmg']!.text) as GenerationRecord;
  assert.deepEqual(own.images, [{ seed: 8 }]);
  assert.deepEqual(own.scheduler, record.scheduler);
  assert.equal(own.timings, undefined);
});

test('progress counts the steps asked for: PNDM (the model default) shows 4/4, not its 5 UNet calls', async () => {
  const r = await run(
    'txt2img',
    '--model',
    'model',
    '--steps',
    '4',
    '--width',
    '32',
    '--height',
    '32',
    '--threads',
    '1',
    '--prompt',
    'a',
    '--out',
    'out/p.png',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /denoising: 100% 4\/4 steps/);
  assert.doesNotMatch(r.stderr, /\/5 steps/);
});

test("--latents FILE.npy starts from given latents (the seed's own noise gives the seeded image); bad files are one line", async () => {
  const size = 4 * 8 * 8;
  writeNpyFloat32(join(root, 'seed7.npy'), new SeededRandom(7).fillGaussian(new Float32Array(size)), [1, 4, 8, 8]);
  const r = await run('txt2img', ...common, '--prompt', 'a cute cat', '--latents', 'seed7.npy', '--seed', '0', '--out', 'out/l.png', '--json');
  assert.equal(r.code, 0, r.stderr);
  const seeded = await run('txt2img', ...common, '--prompt', 'a cute cat', '--seed', '7', '--out', 'out/s7.png');
  assert.equal(seeded.code, 0);
  assert.deepEqual(PNG.sync.read(readFileSync(join(root, 'out/l.png'))).data, PNG.sync.read(readFileSync(join(root, 'out/s7.png'))).data, 'same pixels');
  const record = JSON.parse(r.stdout) as GenerationRecord;
  const sha256 = createHash('sha256')
    .update(readFileSync(join(root, 'seed7.npy')))
    .digest('hex');
  assert.deepEqual(record.images[0]!.latents, { file: join(root, 'seed7.npy'), sha256, row: 0 });

  writeNpyFloat32(join(root, 'wrong.npy'), new Float32Array(2 * size), [2, 4, 8, 8]);
  writeNpyFloat32(join(root, 'f8.npy'), new Float32Array(size), [1, 4, 8, 8], '<f8');
  const cases: Array<[string, number, RegExp]> = [
    [
      'wrong.npy',
      4,
      /--latents .*wrong\.npy has shape \[2, 4, 8, 8\]; expected \[1, 4, 8, 8\] \(batch, channels, height\/8, width\/8\) for --batch 1 --width 64 --height 64$/,
    ],
    ['f8.npy', 4, /f8\.npy holds dtype '<f8'; pmg reads little-endian float32/],
    ['nope.npy', 3, /--latents .*nope\.npy does not exist$/],
  ];
  for (const [file, code, pattern] of cases) {
    const bad = await run('txt2img', ...common, '--prompt', 'a', '--latents', file, '--out', 'out/bad-latents.png');
    assert.equal(bad.code, code, bad.stderr);
    assert.match(bad.stderr.trim(), pattern);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.ok(!existsSync(join(root, 'out/bad-latents.png')));
  }
});

test('--eta: DDIM variance noise from the seed (same seed, same image); refused outside 0..1', async () => {
  const a = await run('txt2img', ...common, '--prompt', 'a cute cat', '--seed', '7', '--eta', '1', '--out', 'out/e1.png');
  const b = await run('txt2img', ...common, '--prompt', 'a cute cat', '--seed', '7', '--eta', '1', '--out', 'out/e2.png');
  assert.equal(a.code + b.code, 0, a.stderr);
  assert.deepEqual(PNG.sync.read(readFileSync(join(root, 'out/e1.png'))).data, PNG.sync.read(readFileSync(join(root, 'out/e2.png'))).data);
  assert.notDeepEqual(PNG.sync.read(readFileSync(join(root, 'out/e1.png'))).data, PNG.sync.read(readFileSync(join(root, 'out/a.png'))).data);
  assert.match(textChunks(readFileSync(join(root, 'out/e1.png')))['parameters']!.text, /, Eta: 1$/);
  const bad = await run('txt2img', ...common, '--prompt', 'a', '--eta', '1.5', '--out', 'out/bad-eta.png');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /eta must be a number from 0 to 1, got 1\.5/);
});
