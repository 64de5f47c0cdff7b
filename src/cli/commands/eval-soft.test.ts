import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { assetPath } from '../../core/package-root.js';
import { writeFixtures } from '../../fixtures/write-fixtures.js';
import { RunStore } from '../../experiments/run-store.js';
import { initSoftModule } from '../../soft/soft-init.js';
import { writeSoftModule } from '../../soft/soft-module.js';
import { tinyLlmBodyIdentity } from '../../fixtures/tiny-soft.js';
import { evalArgv, methodAlphaRows, writeEvalModels, writePosters } from '../../testing/eval-fixture.js';
import { runCliOffline } from '../../testing/run-cli.js';

const excerpt = assetPath('test-data', 'movielens-excerpt');
const tmp = mkdtempSync(join(tmpdir(), 'pmg-eval-soft-'));

before(async () => {
  await writeEvalModels(join(tmp, 'fx'));
  await writeFixtures(join(tmp, 'fx'), { only: ['soft', 'llm-body'] });
  await writePosters(excerpt, join(tmp, 'posters'));
});
after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const run = (...argv: string[]) => runCliOffline(argv, tmp);
const base = evalArgv(excerpt);

test('--methods target-only,keywords,soft,pmg --soft: one report with all four rows; soft tokens once per sample; the config keeps the module', async () => {
  const first = await run(...base, '--methods', 'target-only,keywords,soft,pmg', '--alpha', '0.67', '--soft', 'fx/soft', '--out', 'runs/ablation');
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^2 sample\(s\) evaluated \(0 from an earlier start, 8 generation call\(s\) now\)/m);
  const report = readFileSync(join(tmp, 'runs/ablation/report.md'), 'utf8');
  for (const label of ['target-only', 'keywords', 'soft', 'pmg+soft α=0.67'])
    assert.match(report, new RegExp(`^\\| ${label.replace('+', '\\+')} \\| 2 \\|`, 'm'), label);
  assert.match(report, /soft module: .*fx\/soft \(fingerprint [0-9a-f]{12}…, P 4, N 4, w_s 1; LLM body .*fx\/llm-body\)/);
  const csv = readFileSync(join(tmp, 'runs/ablation/results.csv'), 'utf8');
  assert.deepEqual(methodAlphaRows(csv), ['target-only@', 'keywords@', 'soft@', 'pmg@0.67', 'target-only@', 'keywords@', 'soft@', 'pmg@0.67']);
  assert.match(first.stdout, /^soft tokens: 2 computed with the LLM body, 2 taken from the cache$/m, 'one LLM pass per sample, shared by soft and pmg');
  const store = RunStore.openExisting(join(tmp, 'runs/ablation'));
  try {
    assert.equal(store.config.soft?.module, join(tmp, 'fx', 'soft'));
    assert.match(store.config.soft?.fingerprint ?? '', /^[0-9a-f]{64}$/);
  } finally {
    store.close();
  }
  // Another module's weights under the same flags are another run.
  const tiny = tinyLlmBodyIdentity();
  const other = initSoftModule({
    body: { id: 'tiny', config: tiny.config, fingerprint: tiny.fingerprint },
    condWidth: 768,
    scene: 'movie',
    templateVersion: '1',
    seed: 1,
  });
  writeSoftModule(join(tmp, 'other-soft'), other.config, other.tensors);
  const resumed = await run(...base, '--methods', 'target-only,keywords,soft,pmg', '--alpha', '0.67', '--soft', 'other-soft', '--out', 'runs/ablation');
  assert.equal(resumed.code, 2);
  assert.match(resumed.stderr, /holds a run with other settings: soft\.fingerprint \(was [0-9a-f]+, now [0-9a-f]+\); soft\.module/);
});

test('bad soft flags: one line, nothing written', async () => {
  const cases: [string[], RegExp][] = [
    [['--methods', 'soft,pmg'], /^pmg: --methods soft needs --soft DIR \(a soft module\)\n$/],
    [['--methods', 'target-only,keywords', '--soft', 'fx/soft'], /^pmg: --soft is used by the methods soft and pmg; add one of them to --methods\n$/],
    [['--methods', 'soft', '--soft', 'fx/soft', '--soft-weight=-0.5'], /^pmg: --soft-weight must be a number >= 0, got -0\.5\n$/],
    [['--methods', 'soft', '--soft', 'fx/nothing'], /^pmg: soft module folder .*fx\/nothing does not exist/],
  ];
  for (const [flags, pattern] of cases) {
    const r = await run(...base, ...flags, '--out', 'runs/bad');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, pattern);
    assert.ok(!existsSync(join(tmp, 'runs/bad')));
  }
});
