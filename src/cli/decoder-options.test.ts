/**
 * The decoder and preview flags as a user runs them: `pmg generate --models fx --decoder fx/taesd` makes its images
 * with the tiny decoder and says so (result.json, PNG records); a folder's taesd/ decodes previews only; `--previews`
 * writes live x0 previews; `txt2img --decoder`; wrong folders and flag combinations are one line, writing nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtures } from '../fixtures/write-fixtures.js';
import type { GenerationRecord } from '../pipeline/generation-record.js';
import { textChunks } from '../testing/png-chunks.js';
import { generateArgv, writeMovieInputs } from '../testing/movie-inputs.js';
import { runCliOffline } from '../testing/run-cli.js';

let root: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-decoder-cli-'));
  await writeFixtures(join(root, 'fx'), { only: ['llm', 'clip', 'sd', 'taesd'] });
  writeMovieInputs(root);
});
after(() => rmSync(root, { recursive: true, force: true }));

const pmg = (args: string[]) => runCliOffline(args, root);
const generate = generateArgv(4);

interface Result {
  candidates: { decoder: string; finished: boolean; image: string }[];
  models: { sd: string; decoder?: string };
  settings: { finalDecoder: string; previewDecoder?: string; previewScaleUsed?: number };
}
const result = (out: string): Result => JSON.parse(readFileSync(join(root, out, 'result.json'), 'utf8')) as Result;
const pmgRecord = (file: string) => JSON.parse(textChunks(readFileSync(join(root, file)))['pmg']!.text) as GenerationRecord;

test('generate --decoder fx/taesd: the final images come from the tiny decoder, and result.json and every PNG say so', async () => {
  const tiny = await pmg([...generate, '--decoder', 'fx/taesd', '--out', 'tiny']);
  assert.equal(tiny.code, 0, tiny.stderr);
  assert.match(tiny.stderr, /decode: tiny decoder on 2 latent\(s\)/);
  const r = result('tiny');
  assert.deepEqual(
    r.candidates.map((c) => c.decoder),
    ['tiny', 'tiny'],
  );
  assert.equal(r.settings.finalDecoder, 'tiny');
  assert.equal(r.models.decoder, join(root, 'fx', 'taesd'));
  assert.deepEqual(pmgRecord('tiny/candidate-1.png').decoder, { kind: 'tiny', model: join(root, 'fx', 'taesd') });
  assert.deepEqual(pmgRecord('tiny/best.png').decoder?.kind, 'tiny');
  // --final-decoder vae keeps the tiny decoder for previews only; the images differ.
  const vae = await pmg([...generate, '--decoder', 'fx/taesd', '--final-decoder', 'vae', '--out', 'vae']);
  assert.equal(vae.code, 0, vae.stderr);
  assert.deepEqual(
    result('vae').candidates.map((c) => c.decoder),
    ['vae', 'vae'],
  );
  assert.equal(result('vae').models.decoder, join(root, 'fx', 'taesd'));
  assert.deepEqual(pmgRecord('vae/candidate-0.png').decoder, { kind: 'vae', model: r.models.sd });
  assert.notDeepEqual(readFileSync(join(root, 'vae', 'candidate-0.png')), readFileSync(join(root, 'tiny', 'candidate-0.png')));
});

test('--models fx: its taesd/ decodes the early-search previews, the VAE the finished images; --decoder none turns it off', async () => {
  const early = [...generate, '--weights', '1,2,3', '--search', 'early'];
  const withTiny = await pmg([...early, '--out', 'early']);
  assert.equal(withTiny.code, 0, withTiny.stderr);
  const r = result('early');
  assert.equal(r.settings.previewDecoder, 'tiny');
  assert.equal(r.settings.previewScaleUsed, 1);
  assert.equal(r.settings.finalDecoder, 'vae');
  for (const c of r.candidates) assert.equal(c.decoder, c.finished ? 'vae' : 'tiny');
  const without = await pmg([...early, '--decoder', 'none', '--out', 'early-vae']);
  assert.equal(without.code, 0, without.stderr);
  const v = result('early-vae');
  assert.equal(v.settings.previewDecoder, 'vae');
  assert.equal(v.models.decoder, undefined);
  assert.ok(v.candidates.every((c) => c.decoder === 'vae'));
});

test('--previews DIR: each step replaces DIR/preview-<i>.png with the x0 preview (not after the last step)', async () => {
  const r = await pmg([...generate, '--previews', 'live', '--out', 'with-previews']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(join(root, 'live')).sort(), ['preview-0.png', 'preview-1.png']);
  const about = JSON.parse(textChunks(readFileSync(join(root, 'live', 'preview-1.png')))['pmg-preview']!.text);
  assert.deepEqual(about, { stepsDone: 3, requestedSteps: 4, decoder: 'tiny', scale: 1, index: 1 });
  const every = await pmg([...generate, '--previews', 'live2', '--preview-every', '2', '--out', 'every2']);
  assert.equal(every.code, 0, every.stderr);
  assert.equal(JSON.parse(textChunks(readFileSync(join(root, 'live2', 'preview-0.png')))['pmg-preview']!.text).stepsDone, 2);
});

/** `pmg txt2img` of 'a cat' on the fixture SD, 3 steps, 64×64, with the flags under test. */
const txt2img = (...flags: string[]) => pmg(['txt2img', '--model', 'fx/sd', '--prompt', 'a cat', '--steps', '3', '--width', '64', '--height', '64', ...flags]);

test('txt2img --decoder: the image by the tiny decoder, recorded in --json, the PNG and A1111 "VAE"', async () => {
  const r = await txt2img('--decoder', 'fx/taesd', '--out', 'cat.png', '--previews', 'cat-live', '--json');
  assert.equal(r.code, 0, r.stderr);
  const record = JSON.parse(r.stdout) as GenerationRecord;
  assert.deepEqual(record.decoder, { kind: 'tiny', model: join(root, 'fx', 'taesd') });
  assert.ok(record.timings?.preview !== undefined);
  assert.match(
    textChunks(readFileSync(join(root, 'cat.png')))['parameters']!.text,
    new RegExp(`, VAE: ${join(root, 'fx', 'taesd').replace(/[\\/.]/g, '\\$&')}$`),
  );
  assert.ok(existsSync(join(root, 'cat-live', 'preview-0.png')));
  const vae = await txt2img('--out', 'cat-vae.png', '--json');
  assert.equal((JSON.parse(vae.stdout) as GenerationRecord).decoder?.kind, 'vae');
});

test('a wrong decoder folder or flag is one line with its exit code, and nothing is written', async () => {
  writeFileSync(join(root, 'a-file'), 'x');
  const cases: [string[], number, RegExp][] = [
    [
      [...generate, '--decoder', 'fx/sd', '--out', 'bad1'],
      5,
      /^pmg: decoder .*fx[\\/]sd: .*config\.json describes a full VAE \(AutoencoderKL\), not a tiny autoencoder; .*pmg needs a tiny autoencoder \(TAESD\) exported to ONNX/,
    ],
    [[...generate, '--decoder', 'fx/clip', '--out', 'bad2'], 5, /^pmg: decoder .*fx[\\/]clip: it has a config\.json but no ONNX model/],
    [
      [...generate, '--decoder', 'none', '--final-decoder', 'tiny', '--out', 'bad3'],
      2,
      /^pmg: --final-decoder tiny needs a tiny decoder; give decoder \(a folder or hub id, e\.g\. julienkay\/taesd\) instead of none$/,
    ],
    [[...generate, '--models', 'paper', '--final-decoder', 'tiny', '--out', 'bad4'], 2, /^pmg: --final-decoder tiny needs a tiny decoder/],
    [[...generate, '--final-decoder', 'taesd', '--out', 'bad5'], 2, /^pmg: --final-decoder must be vae or tiny, got 'taesd'$/],
    [[...generate, '--preview-every', '2', '--out', 'bad6'], 2, /^pmg: --preview-every needs --previews DIR/],
    [[...generate, '--previews', 'live', '--preview-every', '0', '--out', 'bad7'], 2, /^pmg: --preview-every must be a positive integer, got '0'$/],
    [[...generate, '--previews', 'a-file', '--out', 'bad8'], 74, /^pmg: --previews .*a-file is a file; give a folder/],
    [['txt2img', '--model', 'fx/sd', '--final-decoder', 'tiny', '--prompt', 'x', '--out', 'bad9.png'], 2, /^pmg: --final-decoder tiny needs a tiny decoder/],
  ];
  for (const [args, code, pattern] of cases) {
    const r = await pmg(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.trim(), pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  for (const out of ['bad1', 'bad2', 'bad3', 'bad4', 'bad5', 'bad6', 'bad7', 'bad8', 'bad9.png']) assert.ok(!existsSync(join(root, out)), `${out} not written`);
});
