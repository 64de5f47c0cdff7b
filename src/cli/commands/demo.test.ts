import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtures } from '../../fixtures/write-fixtures.js';
import { presets } from '../../providers/presets.js';
import { zScore } from '../../scoring/selection.js';
import { PmgError } from '../../errors/pmg-error.js';
import { ModelStore } from '../../runtime/model-store.js';
import { HubServer } from '../../testing/hub-server.js';
import { runCli } from '../../testing/run-cli.js';
import { runDemo } from '../../web/demo-run.js';
import { withTinyHint } from './demo.js';

let root: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'pmg-demo-test-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

function pmg(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return runCli(args, { cwd, env: { PMG_CACHE_DIR: join(cwd, 'cache'), ...env } });
}

interface ResultJson {
  alpha: number;
  chosen: number;
  candidates: { dp: number; dt: number; z: number; image: string; weights: { preference: number } }[];
  keywords: { preference: string[]; target: string[] };
}

/** Checks a demo folder: page, images, result.json per user; returns the user folders. */
/** Write `file`: a preset 'test' of the fixture models as the loopback hub serves them (pmg-test/tiny-*); returns `file`. */
function writeHubPreset(file: string, description: string): string {
  const models = { llm: 'onnx:pmg-test/tiny-llm', clip: 'pmg-test/tiny-clip', sd: 'pmg-test/tiny-sd' };
  writeFileSync(file, JSON.stringify({ name: 'test', description, ...models, steps: 2, guidance: 2, width: 64, height: 64, downloadBytes: 1e6 }));
  return file;
}

function checkDemoFolder(out: string, stdout: string): string[] {
  const page = join(out, 'index.html');
  assert.equal(stdout.trimEnd().split('\n').at(-1), page, 'the last line of stdout is the page path');
  const html = readFileSync(page, 'utf8');
  const sources = [...html.matchAll(/<img [^>]*src="([^"]+)"/g)].map((m) => decodeURIComponent(m[1]!));
  assert.ok(sources.length > 0);
  for (const src of sources) assert.ok(existsSync(join(out, src)), `image ${src} referenced by the page exists`);
  const users = readdirSync(out).filter((name) => name.startsWith('user-'));
  for (const user of users) {
    const result = JSON.parse(readFileSync(join(out, user, 'result.json'), 'utf8')) as ResultJson;
    const z = result.candidates.map((c) => zScore(c.dp, c.dt, result.alpha));
    result.candidates.forEach((c, i) => assert.ok(Math.abs(c.z - z[i]!) < 1e-9, `${user}: z of candidate ${i} recomputes from d_p, d_t, α`));
    const best = z.indexOf(Math.max(...z));
    assert.equal(result.chosen, best, `${user}: chosen is the argmax of z`);
    assert.ok(existsSync(join(out, user, 'best.png')));
    assert.ok(html.includes(`data-candidate="${result.chosen}" data-chosen="true"`));
    for (const c of result.candidates) assert.ok(sources.includes(`${user}/${c.image}`), `${user}/${c.image} is on the page`);
  }
  return users;
}

test('demo --tiny runs offline end to end and writes a page whose images exist', async () => {
  const cwd = mkdtempSync(join(root, 'tiny-'));
  const r = await pmg(['demo', '--tiny', '--out', 'out'], cwd, { PMG_OFFLINE: '1' });
  assert.equal(r.code, 0, r.stderr);
  const out = join(cwd, 'out');
  const users = checkDemoFolder(out, r.stdout);
  assert.deepEqual(users.sort(), ['user-157', 'user-431', 'user-54']);
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  assert.match(html, /these images are noise/);
  assert.match(html, /The Shawshank Redemption/);
  const summary = JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8'));
  assert.equal(summary.tiny, true);
  assert.equal(summary.users.length, 3);
  // Like the fast preset, the tiny demo decodes its final images with the (fixture) tiny autoencoder, and says so.
  assert.equal(summary.finalDecoder, 'tiny');
  assert.ok(
    users.every((u) =>
      (JSON.parse(readFileSync(join(out, u, 'result.json'), 'utf8')) as { candidates: { decoder: string }[] }).candidates.every((c) => c.decoder === 'tiny'),
    ),
  );
  assert.match(html, /<strong>Tiny decoder:<\/strong> the final images were decoded by a tiny autoencoder/);
  assert.equal(html.match(/decoded by the tiny autoencoder<\/span>/g)?.length, html.match(/<figure /g)?.length, 'every image says which decoder made it');
  assert.deepEqual(
    readdirSync(cwd).filter((n) => n.includes('.tmp-') || n.includes('.old-')),
    [],
    'no temporary folders left',
  );

  // A second run replaces the earlier demo folder (same seed: same pixels; the PNG's text chunks name the tiny
  // models' folder, a fresh temporary one per run).
  const before = PNG.sync.read(readFileSync(join(out, 'user-54', 'candidate-0.png'))).data;
  const again = await pmg(['demo', '--tiny', '--out', 'out', '--users', '1'], cwd);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    readdirSync(out).filter((n) => n.startsWith('user-')),
    ['user-54'],
  );
  assert.deepEqual(PNG.sync.read(readFileSync(join(out, 'user-54', 'candidate-0.png'))).data, before);

  // --decoder none: the model's VAE, and the page says nothing about a tiny decoder.
  const vae = await pmg(['demo', '--tiny', '--decoder', 'none', '--out', 'out', '--users', '1'], cwd);
  assert.equal(vae.code, 0, vae.stderr);
  const vaeHtml = readFileSync(join(out, 'index.html'), 'utf8');
  assert.doesNotMatch(vaeHtml, /Tiny decoder:/);
  assert.match(vaeHtml, /Final images decoded by<\/th><td>the model&#39;s VAE/);
  assert.equal(JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8')).finalDecoder, 'vae');
});

test('demo refuses bad flags and a foreign --out folder with one line, writing nothing', async () => {
  const cwd = mkdtempSync(join(root, 'bad-'));
  mkdirSync(join(cwd, 'mine'));
  writeFileSync(join(cwd, 'mine', 'notes.txt'), 'keep me');
  const cases: [string[], RegExp][] = [
    [['demo', '--tiny', '--out', 'mine'], /--out .*mine is a folder that pmg demo did not write/],
    [['demo', '--tiny', '--alpha', '1.5', '--out', 'o1'], /--alpha must be a number between 0 and 1/],
    [['demo', '--tiny', '--users', '4', '--out', 'o2'], /--users must be a whole number from 1 to 3/],
    [['demo', '--tiny', '--preset', 'fast'], /--tiny uses the built-in fixture models; drop --preset/],
    [['demo', '--preset', 'huge'], /--preset must be one of fast, paper/],
    [['demo', '--tiny', '--steps', '0'], /--steps must be an integer from 1 to 1000/],
    [['demo', '--tiny', '--llm', 'openai:http://127.0.0.1:9/v1'], /--tiny uses the built-in fixture LLM; drop --llm/],
  ];
  for (const [args, message] of cases) {
    const r = await pmg(args, cwd);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
  }
  assert.deepEqual(readdirSync(cwd).sort(), ['mine']);
  assert.deepEqual(readdirSync(join(cwd, 'mine')), ['notes.txt']);
});

test('demo without --tiny while offline says in one line what it needs and how to run offline', async () => {
  const cwd = mkdtempSync(join(root, 'offline-'));
  for (const [args, env] of [
    [['demo'], { PMG_OFFLINE: '1' }],
    [['demo', '--offline', '--out', 'x'], {}],
  ] as [string[], NodeJS.ProcessEnv][]) {
    const r = await pmg(args, cwd, env);
    assert.equal(r.code, 6, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    const line = lines[0]!;
    assert.match(line, /^pmg: pmg demo needs the 'fast' preset's models/);
    for (const id of [presets.fast.clip, presets.fast.sd, 'onnx-community/Qwen2.5-0.5B-Instruct']) assert.ok(line.includes(id), `names ${id}`);
    assert.match(line, /about \d+(\.\d)? GB/);
    assert.match(line, /offline mode is on/);
    assert.match(line, /'pmg demo --tiny'/);
    assert.equal(r.stdout, '');
  }
  assert.deepEqual(readdirSync(cwd), [], 'nothing written: no output folder, no cache');
});

test('demo downloads the preset from the hub on the first run and nothing on the second', async () => {
  const fixtures = join(root, 'hub-fixtures');
  await writeFixtures(fixtures, { only: ['llm', 'clip', 'sd'] });
  const hub = await HubServer.start();
  try {
    await hub.addFolder('pmg-test/tiny-llm', join(fixtures, 'llm'));
    await hub.addFolder('pmg-test/tiny-clip', join(fixtures, 'clip'));
    await hub.addFolder('pmg-test/tiny-sd', join(fixtures, 'sd'));
    const cwd = mkdtempSync(join(root, 'hub-'));
    const presetFile = writeHubPreset(join(root, 'preset.json'), 'fixtures on a loopback hub');

    const env = { HF_ENDPOINT: hub.url, PMG_PRESET_FILE: presetFile };

    const first = await pmg(['demo', '--users', '2', '--out', 'out'], cwd, env);
    assert.equal(first.code, 0, first.stderr);
    checkDemoFolder(join(cwd, 'out'), first.stdout);
    const downloads = hub.requests.filter((r) => r.route === 'resolve' || r.route === 'cdn');
    assert.ok(
      downloads.some((r) => r.repo === 'pmg-test/tiny-sd' && r.file === 'unet/model.onnx'),
      'the UNet was downloaded',
    );
    assert.ok(
      downloads.some((r) => r.repo === 'pmg-test/tiny-llm'),
      'the LLM was downloaded',
    );
    assert.ok(
      downloads.some((r) => r.repo === 'pmg-test/tiny-clip'),
      'CLIP was downloaded',
    );
    const html = readFileSync(join(cwd, 'out', 'index.html'), 'utf8');
    assert.match(html, /preset <strong>test<\/strong>/);
    assert.ok(!html.includes('these images are noise'));

    const seen = hub.requests.length;
    const second = await pmg(['demo', '--users', '2', '--out', 'out'], cwd, env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(hub.requests.length, seen, `the second run made no requests: ${JSON.stringify(hub.requests.slice(seen).map((r) => r.url))}`);

    // Cached models also work offline.
    const offline = await pmg(['demo', '--users', '1', '--out', 'out'], cwd, { ...env, PMG_OFFLINE: '1' });
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(hub.requests.length, seen);
  } finally {
    await hub.close();
  }
});

test('demo --llm replaces the keyword LLM of --models (or of a preset)', async () => {
  const cwd = mkdtempSync(join(root, 'llm-'));
  await writeFixtures(join(cwd, 'fx'), { only: ['llm', 'clip', 'sd'] });
  await writeFixtures(join(cwd, 'other'), { only: ['llm'] });
  const r = await pmg(['demo', '--models', 'fx', '--llm', `onnx:${join(cwd, 'other', 'llm')}`, '--users', '1', '--steps', '2', '--out', 'out'], cwd);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(readFileSync(join(cwd, 'out', 'demo.json'), 'utf8')) as { models: { llm: string } };
  assert.match(summary.models.llm, /other[\\/]llm/);
});

test('every failure to fetch the preset (404, a hub that never answers, 5xx) is one line ending with the --tiny hint', async () => {
  const hub = await HubServer.start();
  try {
    const cwd = mkdtempSync(join(root, 'hub-fail-'));
    const presetFile = writeHubPreset(join(cwd, 'preset.json'), '');
    const env = { HF_ENDPOINT: hub.url, PMG_PRESET_FILE: presetFile, PMG_HUB_TIMEOUT: '0.2' };
    const hint = / or run offline with 'pmg demo --tiny'$/;

    // The hub has none of the repos: 404.
    const missing = await pmg(['demo', '--out', 'out'], cwd, env);
    assert.equal(missing.code, 5, missing.stderr);
    assert.equal(missing.stderr.trimEnd().split('\n').length, 1, missing.stderr);
    assert.match(
      missing.stderr,
      /^pmg: pmg demo needs the 'test' preset's models .* but the hub refused a file \(not found: .*pmg-test\/tiny-\w+@main.*\); check that HF_ENDPOINT is the hub or a mirror/,
    );
    assert.match(missing.stderr.trimEnd(), hint);

    // The hub accepts connections and never answers: a timeout after 2 short waits, not minutes.
    hub.inject({ kind: 'delay', ms: 60_000, times: Infinity });
    const started = Date.now();
    const hung = await pmg(['demo', '--out', 'out'], cwd, env);
    const elapsed = Date.now() - started;
    assert.equal(hung.code, 7, hung.stderr);
    assert.equal(hung.stderr.trimEnd().split('\n').length, 1, hung.stderr);
    assert.match(
      hung.stderr,
      /but the hub did not answer \(timed out fetching .* after 2 attempts: 127\.0\.0\.1:\d+ accepted the connection but sent no answer within 200ms\); check the network, HF_ENDPOINT or PMG_HUB_TIMEOUT/,
    );
    assert.match(hung.stderr.trimEnd(), hint);
    assert.ok(elapsed < 10_000, `took ${elapsed} ms`);
    hub.clearFaults();
    assert.deepEqual(
      readdirSync(cwd).filter((name) => name !== 'preset.json' && name !== 'cache'),
      [],
      'nothing written',
    );
  } finally {
    await hub.close();
  }
});

test('a 5xx from the hub, and any other failure of a non-tiny demo, ends with the --tiny hint too', async () => {
  const hub = await HubServer.start();
  try {
    hub.addRepo('pmg-test/tiny-sd', { 'model_index.json': '{}' });
    hub.inject({ kind: 'status', status: 503, times: Infinity });
    const cwd = mkdtempSync(join(root, 'hub-5xx-'));
    const store = new ModelStore({ cacheDir: join(cwd, 'cache'), endpoint: hub.url, offline: false, retries: 1, retryDelayMs: 1 });
    const preset = { ...presets.fast, name: 'test', llm: 'onnx:pmg-test/tiny-llm', clip: 'pmg-test/tiny-clip', sd: 'pmg-test/tiny-sd' };
    const error = await runDemo({ out: join(cwd, 'out'), tiny: false, preset, store, env: {}, offline: false }).then(
      () => assert.fail('expected a failure'),
      (e: unknown) => withTinyHint(e),
    );
    assert.ok(error instanceof PmgError);
    assert.equal(error.code, 'download-failed');
    assert.match(
      error.message,
      /but the download failed \(download of .* failed after 2 attempts: HTTP 503 Service Unavailable.*\); run it again to resume where it stopped, or run offline with 'pmg demo --tiny'$/,
    );

    // A connection closed mid-file says what happened; a hub that cannot be reached says that instead.
    hub.clearFaults();
    const body = 'x'.repeat(200);
    hub.addRepo('pmg-test/tiny-llm', { 'config.json': body, 'tokenizer.json': body, 'tokenizer_config.json': body, 'onnx/model.onnx': body });
    hub.inject({ kind: 'drop', afterBytes: 50, times: Infinity });
    const dropped = await runDemo({ out: join(cwd, 'out'), tiny: false, preset, store, env: {}, offline: false }).catch((e: unknown) => e);
    assert.ok(dropped instanceof PmgError);
    assert.match(
      dropped.message,
      /but the download failed \(download of \S+ from pmg-test\/tiny-llm@main .* the connection to 127\.0\.0\.1:\d+ closed after 100 B of 200 B/,
    );
    assert.doesNotMatch(dropped.message, /could not be reached/);
    const away = new ModelStore({ cacheDir: join(cwd, 'cache2'), endpoint: 'http://127.0.0.1:9', offline: false, retries: 0 });
    const unreachable = await runDemo({ out: join(cwd, 'out'), tiny: false, preset, store: away, env: {}, offline: false }).catch((e: unknown) => e);
    assert.ok(unreachable instanceof PmgError);
    assert.match(
      unreachable.message,
      /but the hub could not be reached \(.*ECONNREFUSED.*\); connect \(or point HF_ENDPOINT at a mirror\) and run it again, or run offline with 'pmg demo --tiny'$/,
    );

    // Failures that are not about fetching (here: a broken model folder given with --models) get the hint appended.
    const broken = join(cwd, 'broken');
    mkdirSync(join(broken, 'llm'), { recursive: true });
    mkdirSync(join(broken, 'clip'));
    mkdirSync(join(broken, 'sd'));
    const r = await pmg(['demo', '--models', 'broken', '--out', 'out'], cwd);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trimEnd(), /; or run offline with 'pmg demo --tiny'$/);
    // A wrong flag is about the flag: no hint.
    const flag = await pmg(['demo', '--preset', 'huge'], cwd);
    assert.doesNotMatch(flag.stderr, /--tiny/);
  } finally {
    await hub.close();
  }
});
