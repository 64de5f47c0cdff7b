import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assetPath } from '../../core/package-root.js';
import { writeTinyAutoencoder } from '../../fixtures/tiny-taesd.js';
import { deadPid } from '../../testing/dead-pid.js';
import { textChunks } from '../../testing/png-chunks.js';
import { evalArgv, methodAlphaRows, writeEvalModels, writePosters } from '../../testing/eval-fixture.js';
import { runCliOffline } from '../../testing/run-cli.js';

const excerpt = assetPath('test-data', 'movielens-excerpt');
const tmp = mkdtempSync(join(tmpdir(), 'pmg-eval-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

before(async () => {
  await writeEvalModels(join(tmp, 'fx'));
  await writePosters(excerpt, join(tmp, 'posters'));
});

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await runCliOffline(argv, tmp);
  return { code, out: stdout, err: stderr };
}

const base = evalArgv(excerpt);

describe('pmg eval', () => {
  it('runs, prints where the report is, resumes with no work, and writes a human sheet', async () => {
    const first = await run(...base, '--methods', 'target-only,pmg', '--alpha', '0.8,0.5', '--out', 'runs/ok');
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /^2 sample\(s\) evaluated \(0 from an earlier start, 4 generation call\(s\) now\); skipped: none$/m);
    assert.match(first.out, /^report: .*runs\/ok\/report\.html$/m);
    assert.match(first.err, /eval: /, 'progress on stderr');
    const csv = readFileSync(join(tmp, 'runs/ok/results.csv'), 'utf8');
    assert.deepEqual(methodAlphaRows(csv), ['target-only@', 'pmg@0.5', 'pmg@0.8', 'target-only@', 'pmg@0.5', 'pmg@0.8']);
    const again = await run(...base, '--methods', 'target-only,pmg', '--alpha', '0.5,0.8', '--out', 'runs/ok');
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /\(2 from an earlier start, 0 generation call\(s\) now\)/);
    assert.equal(readFileSync(join(tmp, 'runs/ok/results.csv'), 'utf8'), csv);
    const other = await run(...base, '--methods', 'pmg', '--out', 'runs/ok');
    assert.equal(other.code, 2);
    assert.equal(
      other.err,
      `pmg: --out: ${join(tmp, 'runs/ok')} holds a run with other settings: alphas (was 0.5,0.8, now 0.5,0.67,0.8); methods (was target-only,pmg, now pmg); use another folder, or the same settings to resume\n`,
    );
    // A sheet folder left half-written by a killed run is removed by the next one.
    const orphan = join(tmp, 'runs/ok/human', `pmg@0.8-vs-target-only.tmp-${deadPid()}`);
    mkdirSync(orphan, { recursive: true });
    writeFileSync(join(orphan, 'index.html'), '<p>half');
    const sheet = await run('eval', '--human-sheet', '--out', 'runs/ok');
    assert.equal(sheet.code, 0, sheet.err);
    assert.equal(existsSync(orphan), false, 'the orphan sheet folder was removed');
    assert.match(sheet.out, /^2 question\(s\): .*human\/pmg@0\.8-vs-target-only\/index\.html$/m);
    const badPair = await run('eval', '--human-sheet', '--out', 'runs/ok', '--pairs', 'pmg:keywords');
    assert.equal(badPair.err, "pmg: --pairs names 'keywords', which this run did not evaluate (it has target-only, pmg)\n");
  });

  it('--decoder: the images come from the tiny decoder (PNG records), and the run config keeps the choice', async () => {
    writeTinyAutoencoder(join(tmp, 'taesd'));
    const first = await run(...base, '--methods', 'target-only', '--limit', '1', '--decoder', 'taesd', '--out', 'runs/tiny');
    assert.equal(first.code, 0, first.err);
    const pngs = readdirSync(join(tmp, 'runs/tiny'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.png'));
    assert.ok(pngs.length > 0);
    for (const png of pngs) assert.equal(JSON.parse(textChunks(readFileSync(join(tmp, 'runs/tiny', png)))['pmg']!.text).decoder.kind, 'tiny', png);
    const other = await run(...base, '--methods', 'target-only', '--limit', '1', '--decoder', 'taesd', '--final-decoder', 'vae', '--out', 'runs/tiny');
    assert.equal(other.code, 2);
    assert.match(other.err, /holds a run with other settings: finalDecoder \(was unset, now vae\)/);
  });

  const bad: [string, string[], RegExp][] = [
    [
      'missing data folder',
      ['eval', ...base.slice(1).map((a) => (a === excerpt ? join(tmp, 'nope') : a)), '--out', 'runs/x'],
      /^pmg: --data: MovieLens folder not found: .*nope\n$/,
    ],
    [
      'missing poster folder',
      [...base.map((a) => (a === 'posters' ? 'no-posters' : a)), '--out', 'runs/x'],
      /^pmg: --posters: image folder not found: .*no-posters\n$/,
    ],
    [
      'unknown method',
      [...base, '--methods', 'pmg,dreambooth', '--out', 'runs/x'],
      /^pmg: unknown method 'dreambooth' in --methods; use target-only, keywords, soft, pmg\n$/,
    ],
    ['unknown metric', [...base, '--metrics', 'lpips,hpsv9', '--out', 'runs/x'], /^pmg: unknown metric 'hpsv9'; known metrics: .*\n$/],
    ['set metric', [...base, '--metrics', 'fid', '--out', 'runs/x'], /^pmg: metric 'fid' compares image sets.*\n$/],
    ['bad alpha', [...base, '--alpha', '0.5,1.5', '--out', 'runs/x'], /^pmg: --alpha: '1\.5' is not a number between 0 and 1\n$/],
    [
      'no LPIPS network',
      [...base.filter((a, i) => a !== '--metrics-models' && base[i - 1] !== '--metrics-models'), '--out', 'runs/x'],
      /^pmg: metric 'lpips' needs a lpips network: pass --metrics-models DIR.*\n$/,
    ],
    ['no --out', [...base], /^pmg: missing --out DIR.*\n$/],
    ['no run for the human sheet', ['eval', '--human-sheet', '--out', 'runs/none'], /^pmg: .*runs\/none has no eval run \(run\.sqlite is missing\).*\n$/],
  ];
  for (const [name, argv, pattern] of bad) {
    it(`bad input: ${name} gives one clear line and writes nothing`, async () => {
      const { code, err } = await run(...argv);
      assert.notEqual(code, 0);
      assert.match(err, pattern);
      assert.ok(!existsSync(join(tmp, 'runs/x')), 'no run folder left behind');
    });
  }
});
