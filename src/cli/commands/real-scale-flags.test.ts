import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { deadPid } from '../../testing/dead-pid.js';
import { runCli } from '../../testing/run-cli.js';

// Only the refusals: a real-scale run writes 4 GB and takes minutes, so it is never started here
// (bench/real-scale.test.ts runs the same harness on reduced-width models).
let cwd: string;
let env: NodeJS.ProcessEnv;
before(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'pmg-real-scale-cli-'));
  env = { PMG_CACHE_DIR: join(cwd, 'cache') };
});
after(() => rm(cwd, { recursive: true, force: true }));

async function refused(argv: string[], message: RegExp): Promise<void> {
  const run = await runCli(argv, { cwd, env });
  assert.equal(run.code, 2, `${argv.join(' ')}: ${run.stderr}`);
  assert.match(run.stderr.trim(), message);
  assert.equal(run.stderr.trim().split('\n').length, 1, 'one line');
  assert.equal(run.stdout, '');
  assert.equal(existsSync(join(cwd, 'cache')), false, 'nothing written');
}

test('pmg bench diffusion: flags of one bench are refused in the other, lists are checked item by item', async () => {
  await refused(
    ['bench', 'diffusion', '--real-scale', '--unet-scale', '2'],
    /^pmg: --unet-scale is a flag of the fixture bench; with --real-scale use --sizes, --batches, --repeats, --threads or --dir$/,
  );
  await refused(['bench', 'diffusion', '--sizes', '256'], /^pmg: --sizes is a flag of the real-scale bench; add --real-scale$/);
  await refused(['bench', 'diffusion', '--real-scale', '--sizes', '256,300'], /^pmg: --sizes: 300 is not a multiple of 64/);
  await refused(
    ['bench', 'diffusion', '--real-scale', '--sizes', '256,,512'],
    /^pmg: --sizes takes a comma-separated list; each item must be an integer from 64 to 2048, got '' in '256,,512'$/,
  );
  await refused(
    ['bench', 'diffusion', '--real-scale', '--batches', '1,x'],
    /^pmg: --batches takes a comma-separated list; each item must be an integer from 1 to 16, got 'x'/,
  );
  await refused(['bench', 'diffusion', '--real-scale', '--repeats', '0'], /^pmg: --repeats must be an integer from 1 to 100, got '0'$/);
  await refused(['bench', 'diffusion', '--real-scale', '--attention', 'flash'], /^pmg: --attention must be matmul or fused, got 'flash'$/);
  await refused(['bench', 'diffusion', '--attention', 'fused'], /^pmg: --attention is a flag of the real-scale bench; add --real-scale$/);
});

test('pmg models fixtures: a folder is needed except with --real-scale; unknown real-scale names are refused before writing', async () => {
  await refused(['models', 'fixtures'], /^pmg: 'pmg models fixtures' needs a folder to write into/);
  await refused(['models', 'fixtures', '--real-scale', '--only', 'sd'], /^pmg: unknown fixture 'sd'; choose from sd15, taesd$/);
  const help = await runCli(['models', 'fixtures', '--help'], { cwd, env });
  assert.match(help.stdout, /--real-scale/);
  const benchHelp = await runCli(['bench', 'diffusion', '--help'], { cwd, env });
  assert.match(benchHelp.stdout, /--sizes PX,\.\.\. +with --real-scale: image sides, multiples of 64 \(default: 256,512\)/);
  assert.match(benchHelp.stdout, /--steps N +denoising steps per image \(default: 10\)/);
});

test('pmg models fixtures DIR --real-scale removes what an interrupted write left (a dead process), and no other temporary', async () => {
  const dir = join(cwd, 'rs');
  const orphan = join(dir, `sd15.tmp-${deadPid()}`);
  const live = join(dir, `sd15.tmp-${process.pid}`);
  for (const folder of [orphan, live]) {
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'model.onnx_data'), 'partial');
  }
  const run = await runCli(['models', 'fixtures', 'rs', '--real-scale', '--only', 'nope'], { cwd, env });
  assert.equal(run.code, 2); // refused after the clean-up, so nothing large is written here
  assert.match(run.stderr, new RegExp(`^removed ${orphan.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, left by an interrupted write$`, 'm'));
  assert.equal(existsSync(orphan), false);
  assert.equal(existsSync(live), true, "a running process's temporary stays");
});
