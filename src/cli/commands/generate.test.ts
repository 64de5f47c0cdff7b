import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { SeededRandom } from '../../core/random.js';
import { TINY_CAPTION } from '../../fixtures/tiny-captioner.js';
import { writeFixtures } from '../../fixtures/write-fixtures.js';
import type { GenerationRecord } from '../../pipeline/generation-record.js';
import { zScore } from '../../scoring/selection.js';
import { writeNpyFloat32 } from '../../testing/npy-file.js';
import { textChunks, walkPng } from '../../testing/png-chunks.js';
import { generateArgv, writeMovieInputs } from '../../testing/movie-inputs.js';
import { runCliOffline } from '../../testing/run-cli.js';

let root: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-generate-'));
  await writeFixtures(join(root, 'fx'), { only: ['llm', 'clip', 'sd', 'captioner'] });
  writeMovieInputs(root);
});
after(() => rmSync(root, { recursive: true, force: true }));

const pmg = (args: string[]) => runCliOffline(args, root);

const common = generateArgv(4);

interface ResultJson {
  scene: string;
  alpha: number;
  mode: string;
  search: string;
  keywords: { preference: string[]; target: string[] };
  prompt: string[];
  candidates: { weights: { preference: number; target: number }; dp: number; dt: number; z: number; image: string; seed: number; finished: boolean }[];
  chosen: number;
  models: { llm: string; clip: string; sd: string };
  timings: Record<string, number>;
}

/** argmax of z recomputed from the reported numbers (finished candidates; ties to the lower weight). */
function recomputedChoice(r: ResultJson): number {
  let best = -1;
  r.candidates.forEach((c, i) => {
    if (!c.finished) return;
    const z = zScore(c.dp, c.dt, r.alpha);
    if (best < 0) return void (best = i);
    const zb = zScore(r.candidates[best]!.dp, r.candidates[best]!.dt, r.alpha);
    if (z > zb || (z === zb && c.weights.preference < r.candidates[best]!.weights.preference)) best = i;
  });
  return best;
}

for (const mode of ['repeat', 'embed'] as const) {
  for (const search of ['exhaustive', 'early'] as const) {
    test(`generate --mode ${mode} --search ${search} writes best.png, candidates and result.json`, async () => {
      const out = `out-${mode}-${search}`;
      const weights = mode === 'repeat' ? '1,2,3' : '0.5,1,1.5';
      const r = await pmg([...common, '--mode', mode, '--search', search, '--weights', weights, '--alpha', '0.6', '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^chosen: candidate \d \(preference weight/);
      assert.ok(r.stdout.trim().endsWith(join(root, out, 'result.json')));
      assert.match(r.stderr, /denoising/);
      const result = JSON.parse(readFileSync(join(root, out, 'result.json'), 'utf8')) as ResultJson;
      assert.equal(result.scene, 'movie');
      assert.equal(result.alpha, 0.6);
      assert.equal(result.mode, mode);
      assert.equal(result.search, search);
      assert.equal(result.candidates.length, 3);
      assert.equal(result.prompt.length, 3);
      assert.deepEqual(result.keywords.target, ['vintage', 'noir', 'neon', 'retro', 'pastel']);
      assert.equal(result.models.sd, join(root, 'fx', 'sd'));
      assert.equal(result.chosen, recomputedChoice(result));
      assert.equal(result.candidates.filter((c) => c.finished).length, search === 'early' ? 1 : 3);
      for (const c of result.candidates) {
        assert.equal(c.seed, 0);
        assert.ok(Math.abs(c.z - zScore(c.dp, c.dt, result.alpha)) < 1e-12);
        const png = PNG.sync.read(readFileSync(join(root, out, c.image)));
        assert.equal(png.width, 64);
      }
      assert.deepEqual(readFileSync(join(root, out, 'best.png')), readFileSync(join(root, out, result.candidates[result.chosen]!.image)));
      for (const key of ['keywords', 'encode', 'denoise', 'decode', 'score', 'total']) assert.equal(typeof result.timings[key], 'number');
    });
  }
}

test('identical seeds give identical result.json numbers and PNG bytes', async () => {
  const a = await pmg([...common, '--seed', '7', '--out', 'same-a']);
  const b = await pmg([...common, '--seed', '7', '--out', 'same-b']);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const ra = JSON.parse(readFileSync(join(root, 'same-a', 'result.json'), 'utf8')) as ResultJson;
  const rb = JSON.parse(readFileSync(join(root, 'same-b', 'result.json'), 'utf8')) as ResultJson;
  assert.deepEqual(ra.candidates, rb.candidates);
  assert.equal(ra.chosen, rb.chosen);
  for (const name of readdirSync(join(root, 'same-a')).filter((n) => n.endsWith('.png'))) {
    assert.deepEqual(readFileSync(join(root, 'same-a', name)), readFileSync(join(root, 'same-b', name)), name);
  }
});

test('--target-weight (embed) and --preview-scale are used and recorded in result.json', async () => {
  const argv = [...common, '--mode', 'embed', '--weights', '0.5,1', '--target-weight', '0.75', '--search', 'early', '--preview-scale', '4', '--out', 'tw'];
  argv.splice(argv.indexOf('--width'), 4, '--width', '128', '--height', '128');
  const r = await pmg(argv);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(readFileSync(join(root, 'tw', 'result.json'), 'utf8')) as ResultJson & { settings: Record<string, unknown> };
  assert.deepEqual(
    result.candidates.map((c) => c.weights),
    [
      { preference: 0.5, target: 0.75 },
      { preference: 1, target: 0.75 },
    ],
  );
  assert.equal(result.settings.previewScale, 4);
  assert.equal(result.settings.previewScaleUsed, 2, '16x16 latents: 4 would leave 4x4, so 2 is used');
  for (const c of result.candidates) assert.equal(PNG.sync.read(readFileSync(join(root, 'tw', c.image))).width, 128);
});

test('an existing non-empty --out keeps its other files and gets ours', async () => {
  mkdirSync(join(root, 'busy'));
  writeFileSync(join(root, 'busy', 'notes.txt'), 'mine');
  const r = await pmg([...common, '--weights', '1', '--out', 'busy']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(join(root, 'busy')).sort(), ['best.png', 'candidate-0.png', 'notes.txt', 'result.json']);
  assert.ok(!readdirSync(root).some((n) => n.includes('.tmp-')));
});

test('result.json records the texts d_t and d_p were scored against; the paper-style negative prompts with --prompt-style official', async () => {
  const r = await pmg([...common, '--weights', '1', '--prompt-style', 'official', '--out', 'scoring']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(readFileSync(join(root, 'scoring', 'result.json'), 'utf8')) as ResultJson & {
    scoring: { targetText: string; preferenceText: string };
    settings: { promptStyle: string };
    candidates: { negative: string }[];
  };
  assert.equal(result.scoring.targetText, "movie poster, Alien, named 'Alien', vintage, noir, neon, retro, pastel");
  assert.equal(result.scoring.preferenceText, result.keywords.preference.join(', '));
  assert.ok(result.prompt[0]!.startsWith(result.scoring.targetText));
  assert.equal(result.candidates[0]!.negative, 'broken text, unclear, twisted');
  assert.equal(result.settings.promptStyle, 'official');
  const wrong = await pmg([...common, '--prompt-style', 'fancy', '--out', 'scoring-bad']);
  assert.equal(wrong.code, 2);
  assert.equal(wrong.stderr, "pmg: unknown prompt style 'fancy' (--prompt-style); use official or pmg\n");
});

test('a re-run into the same folder with fewer weights removes its own stale candidate images only', async () => {
  const first = await pmg([...common, '--weights', '1,2,3', '--out', 'rerun']);
  assert.equal(first.code, 0, first.stderr);
  writeFileSync(join(root, 'rerun', 'notes.txt'), 'mine');
  const second = await pmg([...common, '--weights', '2', '--out', 'rerun']);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(readdirSync(join(root, 'rerun')).sort(), ['best.png', 'candidate-0.png', 'notes.txt', 'result.json']);
});

test('--captioner captions history items that only have an image (paths relative to the history file)', async () => {
  mkdirSync(join(root, 'caption', 'img'), { recursive: true });
  const png = new PNG({ width: 8, height: 8 });
  png.data.fill(180);
  writeFileSync(join(root, 'caption', 'img', 'poster.png'), PNG.sync.write(png));
  writeFileSync(join(root, 'caption', 'h.json'), JSON.stringify([{ title: 'Heat' }, { id: 'm2', image: 'img/poster.png' }]));
  const argv = [...common, '--weights', '1', '--history', join('caption', 'h.json')];
  argv.splice(argv.indexOf('--history'), 2);
  const ok = await pmg([...argv, '--captioner', `onnx:${join(root, 'fx', 'captioner')}`, '--out', 'captioned']);
  assert.equal(ok.code, 0, ok.stderr);
  const result = JSON.parse(readFileSync(join(root, 'captioned', 'result.json'), 'utf8')) as { keywords: { prompts: { preference: string } } };
  assert.match(result.keywords.prompts.preference, new RegExp(`0\\. Heat 1\\. ${TINY_CAPTION}`));
  const missing = await pmg([...argv, '--out', 'uncaptioned']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /^pmg: history item 1 \(id m2\) has only an image \(img\/poster\.png\) and no captioner is configured/);
  assert.ok(!existsSync(join(root, 'uncaptioned')));
});

const bad: [string, string[], RegExp][] = [
  ['missing target file', ['--target', 'nope.json'], /target file .*nope\.json does not exist/],
  ['alpha outside [0, 1]', ['--alpha', '1.5'], /--alpha must be between 0 and 1/],
  ['empty weight list', ['--weights', ''], /--weights is empty/],
  ['negative weight', ['--weights', '1,-2'], /-2 is negative/],
  ['fractional repeat weight', ['--weights', '1.5'], /not a whole number/],
  ['unknown mode', ['--mode', 'blend'], /unknown --mode 'blend'/],
  ['unknown search', ['--search', 'greedy'], /unknown --search 'greedy'/],
  ['bad early fraction', ['--search', 'early', '--early-fraction', '2'], /^pmg: --early-fraction must be a number between 0 and 1 \(exclusive\), got 2$/m],
  ['zero steps (the job validator, told as the flag)', ['--steps', '0'], /^pmg: --steps must be a whole number between 1 and 1000, got 0$/m],
  ['unknown scene', ['--scene', 'cars'], /unknown scene 'cars'/],
  ['target weight in repeat mode', ['--target-weight', '2'], /--target-weight 2 needs --mode embed: in repeat mode/],
  ['non-numeric target weight', ['--mode', 'embed', '--target-weight', 'heavy'], /--target-weight must be a number, got 'heavy'/],
  ['bad preview scale', ['--search', 'early', '--preview-scale', '3'], /--preview-scale must be 1, 2 or 4, got 3/],
  ['unknown models', ['--models', 'nowhere'], /neither a folder nor a preset/],
];
for (const [name, args, message] of bad) {
  test(`bad input (${name}): one line, non-zero exit, nothing in --out`, async () => {
    const out = `bad-${name.replace(/\W+/g, '-')}`;
    const argv = [...common];
    for (let i = 0; i < args.length; i += 2) {
      const at = argv.indexOf(args[i]!);
      if (at >= 0) argv.splice(at, 2, args[i]!, args[i + 1]!);
      else argv.push(args[i]!, args[i + 1]!);
    }
    const r = await pmg([...argv, '--out', out]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!existsSync(join(root, out)));
    assert.ok(!readdirSync(root).some((n) => n.startsWith(out)));
  });
}

test('--latents: one row shared by every candidate, recorded in result.json and in every PNG with its sha256', async () => {
  writeNpyFloat32(join(root, 'start.npy'), new SeededRandom(3).fillGaussian(new Float32Array(256)), [1, 4, 8, 8]);
  const r = await pmg([...common, '--weights', '1,2', '--latents', 'start.npy', '--out', 'out-latents']);
  assert.equal(r.code, 0, r.stderr);
  const sha256 = createHash('sha256')
    .update(readFileSync(join(root, 'start.npy')))
    .digest('hex');
  const result = JSON.parse(readFileSync(join(root, 'out-latents', 'result.json'), 'utf8')) as { settings: { latents: unknown } };
  assert.deepEqual(result.settings.latents, { file: join(root, 'start.npy'), sha256 });
  for (const name of ['candidate-0.png', 'candidate-1.png', 'best.png']) {
    const png = readFileSync(join(root, 'out-latents', name));
    assert.ok(
      walkPng(png).every((c) => c.crcOk),
      name,
    );
    const texts = textChunks(png);
    assert.match(
      texts['parameters']!.text,
      /^movie poster, Alien, named 'Alien'.*\nNegative prompt: .*\nSteps: 4, Sampler: PLMS, CFG scale: 7\.5, Seed: 0, Size: 64x64, Model: /,
    );
    const record = JSON.parse(texts['pmg']!.text) as GenerationRecord;
    assert.deepEqual(record.images, [{ seed: 0, latents: { file: join(root, 'start.npy'), sha256, row: 0 } }]);
    assert.equal(record.steps, 4);
  }
  writeNpyFloat32(join(root, 'three.npy'), new Float32Array(768), [3, 4, 8, 8]);
  const bad = await pmg([...common, '--weights', '1,2', '--latents', 'three.npy', '--out', 'out-bad-latents']);
  assert.equal(bad.code, 4);
  assert.match(
    bad.stderr.trim(),
    /--latents .*three\.npy has shape \[3, 4, 8, 8\]; expected \[2 or 1, 4, 8, 8\] \(batch, channels, height\/8, width\/8\) for 2 candidate\(s\) --width 64 --height 64$/,
  );
  assert.ok(!existsSync(join(root, 'out-bad-latents')));
});

test('generate --memory-budget --verbose: the plan on stderr and in settings.memory; --vae-tiling on tiles and says so in every PNG', async () => {
  const r = await pmg([...common, '--guidance', '7.5', '--memory-budget', '5GB', '--verbose', '--out', 'out-memory']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^UNet: 4 rows per step in 1 call \(budget 5\.0 GB, /m);
  const settings = (
    JSON.parse(readFileSync(join(root, 'out-memory', 'result.json'), 'utf8')) as {
      settings: { memory: { unet: Record<string, unknown>; vae: Record<string, unknown> } };
    }
  ).settings;
  assert.deepEqual(
    [settings.memory.unet.rows, settings.memory.unet.rowsPerCall, settings.memory.unet.budgetBytes, settings.memory.vae.reason],
    [4, 4, 5 * 2 ** 30, 'one-tile'],
  );

  const wide = await pmg([...common.map((a, i) => (common[i - 1] === '--width' ? '576' : a)), '--vae-tiling', 'on', '--out', 'out-tiled']);
  assert.equal(wide.code, 0, wide.stderr);
  const record = JSON.parse(textChunks(readFileSync(join(root, 'out-tiled', 'best.png'))).pmg!.text) as GenerationRecord;
  assert.deepEqual(record.vaeTiles, { tileSampleSize: 512, tileLatentSize: 64, overlapFactor: 0.25 });
});
