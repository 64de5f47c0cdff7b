import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtures } from '../../fixtures/write-fixtures.js';
import { runCli } from '../../testing/run-cli.js';

let root: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-demo-soft-'));
  await writeFixtures(join(root, 'fx'), { only: ['llm', 'clip', 'sd', 'soft', 'llm-body'] });
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

const pmg = (args: string[]) => runCli(args, { cwd: root, env: { PMG_CACHE_DIR: join(root, 'cache'), PMG_OFFLINE: '1' } });

test('demo --soft: target-only, keywords, soft and pmg+soft side by side for each user', async () => {
  const run = await pmg(['demo', '--models', 'fx', '--soft', 'fx/soft', '--users', '1', '--steps', '2', '--out', 'demo']);
  assert.equal(run.code, 0, run.stderr);
  const html = readFileSync(join(root, 'demo', 'index.html'), 'utf8');
  assert.match(html, /<h3>Methods side by side/);
  assert.deepEqual(
    [...html.matchAll(/data-method="([^"]+)"/g)].map((m) => m[1]),
    ['target-only', 'keywords', 'soft', 'pmg'],
  );
  assert.match(html, /<th scope="row">Soft module<\/th><td>.*fx\/soft \(P 4, N 4, w_s 1, untrained: random init; LLM body .*fx\/llm-body\)/);
  const summary = JSON.parse(readFileSync(join(root, 'demo', 'demo.json'), 'utf8')) as { soft: { methods: string[] }; users: { folder: string }[] };
  assert.deepEqual(summary.soft.methods, ['target-only', 'keywords', 'soft', 'pmg']);
  const folder = join(root, 'demo', summary.users[0]!.folder);
  const context = (dir: string): number[] =>
    (JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { candidates: { contextTokens: number }[] }).candidates.map((c) => c.contextTokens);
  assert.deepEqual(context(join(folder, 'target-only')), [77]);
  assert.deepEqual(context(join(folder, 'keywords')), [77]);
  assert.deepEqual(context(join(folder, 'soft')), [81]);
  assert.ok(
    context(folder).every((n) => n % 77 === 4),
    'pmg+soft: text windows plus 4 soft tokens',
  );
});

test("demo --tiny --soft uses the tiny fixtures' own LLM body", async () => {
  const run = await pmg(['demo', '--tiny', '--soft', 'fx/soft', '--users', '1', '--out', 'demo-tiny']);
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(readFileSync(join(root, 'demo-tiny', 'demo.json'), 'utf8')) as { soft: { llmBody: string; methods: string[] } };
  assert.equal(summary.soft.llmBody, 'tiny fixture LLM body (random weights)');
  assert.deepEqual(summary.soft.methods, ['target-only', 'keywords', 'soft', 'pmg']);
});

test('demo --soft without a body to use: one line, nothing written', async () => {
  mkdirSync(join(root, 'fx2'));
  for (const part of ['llm', 'clip', 'sd']) cpSync(join(root, 'fx', part), join(root, 'fx2', part), { recursive: true });
  const run = await pmg(['demo', '--models', 'fx2', '--soft', 'fx/soft', '--out', 'demo-bad']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^pmg: --soft needs --llm-body DIR\|ID, the LLM body the module was made for \(pmg\/tiny-llm\); .*fx2 has no llm-body\/ folder\n$/);
  assert.ok(!existsSync(join(root, 'demo-bad')));
});
