import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeTinySd } from '../fixtures/tiny-sd.js';
import type { GenerationRecord } from '../pipeline/generation-record.js';
import { textChunks } from '../testing/png-chunks.js';
import { runCli, type CliRun } from '../testing/run-cli.js';

let root: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'pmg-memory-cli-'));
  writeTinySd(join(root, 'model'));
  mkdirSync(join(root, 'out'));
});
after(() => rmSync(root, { recursive: true, force: true }));

function run(...args: string[]): Promise<CliRun> {
  return runCli(args, { cwd: root, env: { PMG_OFFLINE: '1', PMG_CACHE_DIR: join(root, 'cache') } });
}

const common = ['txt2img', '--model', 'model', '--prompt', 'a cute cat', '--steps', '2', '--scheduler', 'ddim', '--threads', '1'];

test('--verbose prints the memory plan; --json records it; the PNG records tiles only when the decode was tiled', async () => {
  const r = await run(...common, '--width', '64', '--height', '64', '--batch', '2', '--memory-budget', '6', '--verbose', '--json', '--out', 'out/plan.png');
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /^UNet: 4 rows per step in 1 call \(budget 6\.0 GB, \d+ MB in use, est\. 32 KB per row at 8x8 latents; all rows fit; architecture from unet\/config\.json\)$/m,
  );
  assert.match(r.stderr, /^VAE: whole decode \(the image fits in one tile of 512 px\)$/m);
  const record = JSON.parse(r.stdout) as GenerationRecord;
  assert.deepEqual(
    [record.memory?.unet.rows, record.memory?.unet.rowsPerCall, record.memory?.unet.budgetBytes, record.memory?.vae?.tiled],
    [4, 4, 6 * 2 ** 30, false],
  );
  assert.equal(record.vaeTiles, undefined);
  const png = JSON.parse(textChunks(readFileSync(join(root, 'out/plan-0.png'))).pmg!.text) as GenerationRecord;
  assert.equal(png.memory, undefined, 'the plan never changes pixels, so PNGs do not carry it');

  const quiet = await run(...common, '--width', '64', '--height', '64', '--out', 'out/quiet.png');
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /UNet:|VAE:/, 'no plan lines without --verbose');

  const tiled = await run(...common, '--width', '576', '--height', '64', '--vae-tiling', 'on', '--verbose', '--json', '--out', 'out/tiled.png');
  assert.equal(tiled.code, 0, tiled.stderr);
  assert.match(tiled.stderr, /^VAE: 2 tiles of 512 px \(64 latent px\), overlap 0\.25 per image \(tiling on\)$/m);
  const tiles = { tileSampleSize: 512, tileLatentSize: 64, overlapFactor: 0.25 };
  assert.deepEqual((JSON.parse(tiled.stdout) as GenerationRecord).vaeTiles, tiles);
  assert.deepEqual((JSON.parse(textChunks(readFileSync(join(root, 'out/tiled.png'))).pmg!.text) as GenerationRecord).vaeTiles, tiles);
});

test('bad --memory-budget or --vae-tiling: one line naming the flag, exit 2, nothing written', async () => {
  for (const [flag, value, message] of [
    [
      '--memory-budget',
      'lots',
      /^pmg: --memory-budget must be 'auto' or an amount of memory of at least 0\.25 GB \(e\.g\. 8, 7\.5GB or 6000MB\), got 'lots'\n$/,
    ],
    ['--memory-budget', '0.1', /got '0\.1'/],
    ['--vae-tiling', 'maybe', /^pmg: --vae-tiling must be auto, on, off, got 'maybe'\n$/],
  ] as const) {
    const r = await run(...common, flag, value, '--out', 'out/bad.png');
    assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.ok(!existsSync(join(root, 'out/bad.png')));
  }
});
