import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyLlmBodyIdentity } from '../../fixtures/tiny-soft.js';
import { writeFixtures } from '../../fixtures/write-fixtures.js';
import { SOFT_CONFIG_FILE, SOFT_WEIGHTS_FILE } from '../../soft/soft-config.js';
import { initSoftModule } from '../../soft/soft-init.js';
import { writeSoftModule } from '../../soft/soft-module.js';
import { generateArgv, writeMovieInputs } from '../../testing/movie-inputs.js';
import { runCliOffline } from '../../testing/run-cli.js';

let root: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-generate-soft-'));
  await writeFixtures(join(root, 'fx'), { only: ['llm', 'clip', 'sd', 'soft', 'llm-body', 'llm-body-gqa'] });
  writeMovieInputs(root);
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

const pmg = (args: string[]) => runCliOffline(args, root);

const common = generateArgv(3, { noCache: false });

interface SoftResult {
  method: string;
  keywords: { preference: string[] };
  candidates: { prompt: string; contextTokens: number; image: string; weights: { preference: number } }[];
  soft?: { module: string; fingerprint: string; P: number; N: number; weight: number; llm: { id: string }; cached: boolean };
  timings: Record<string, number>;
}
const result = (out: string): SoftResult => JSON.parse(readFileSync(join(root, out, 'result.json'), 'utf8')) as SoftResult;

test('generate --soft: every candidate is conditioned with the soft tokens (context 77 + N), result.json records the module', async () => {
  const run = await pmg([...common, '--soft', 'fx/soft', '--no-cache', '--out', 'o-pmg']);
  assert.equal(run.code, 0, run.stderr);
  const r = result('o-pmg');
  assert.equal(r.method, 'pmg');
  assert.deepEqual(
    r.candidates.map((c) => c.contextTokens),
    [81, 81],
  );
  assert.equal(r.soft!.module, join(root, 'fx', 'soft'));
  assert.deepEqual([r.soft!.P, r.soft!.N, r.soft!.weight, r.soft!.cached], [4, 4, 1, false]);
  assert.match(r.soft!.fingerprint, /^[0-9a-f]{64}$/);
  assert.equal(r.soft!.llm.id, join(root, 'fx', 'llm-body'), 'the body of the --models folder by default');
  assert.equal(typeof r.timings.soft, 'number');
  assert.match(run.stderr, /soft: 4 tokens of .*fx\/soft/);
});

test('--method soft and --method keywords differ: soft has no preference keywords and 4 more context tokens', async () => {
  const soft = await pmg([...common, '--soft', 'fx/soft', '--method', 'soft', '--soft-weight', '1.5', '--no-cache', '--out', 'o-soft']);
  assert.equal(soft.code, 0, soft.stderr);
  const keywords = await pmg([...common, '--method', 'keywords', '--no-cache', '--out', 'o-keywords']);
  assert.equal(keywords.code, 0, keywords.stderr);
  const s = result('o-soft');
  const k = result('o-keywords');
  assert.equal(s.candidates.length, 1);
  assert.equal(s.candidates[0]!.prompt, "movie poster, Alien, named 'Alien', vintage, noir, neon, retro, pastel");
  assert.equal(s.candidates[0]!.contextTokens, 81);
  assert.equal(s.soft!.weight, 1.5);
  assert.ok(k.candidates[0]!.prompt.startsWith(`${s.candidates[0]!.prompt}, vintage`), 'keywords adds the preference keywords');
  assert.equal(k.candidates[0]!.contextTokens, 77);
  assert.equal(k.soft, undefined);
  assert.notDeepEqual(readFileSync(join(root, 'o-soft', 'best.png')), readFileSync(join(root, 'o-keywords', 'best.png')));
});

test('every body route gives the same images: llm-body, llm-body-gqa and prepare-soft of llm', async () => {
  const prepared = await pmg(['models', 'prepare-soft', 'fx/llm', '--out', 'fx/body2']);
  assert.equal(prepared.code, 0, prepared.stderr);
  const images = async (body: string): Promise<Buffer[]> => {
    const out = `o-route-${body.replace('/', '-')}`;
    const run = await pmg([...common, '--soft', 'fx/soft', '--llm-body', body, '--no-cache', '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(result(out).soft!.llm.id, join(root, body));
    return result(out).candidates.map((c) => readFileSync(join(root, out, c.image)));
  };
  const reference = await images('fx/llm-body');
  assert.equal(reference.length, 2);
  assert.deepEqual(await images('fx/body2'), reference, 'prepare-soft of llm/');
  assert.deepEqual(await images('fx/llm-body-gqa'), reference, 'GroupQueryAttention');
});

test('the soft tokens are cached with the keyword answers: a second run reads them', async () => {
  const args = [...common, '--soft', 'fx/soft', '--llm-body', 'fx/llm-body', '--method', 'soft', '--cache', 'c.sqlite'];
  assert.equal((await pmg([...args, '--out', 'o-c1'])).code, 0);
  assert.equal((await pmg([...args, '--out', 'o-c2'])).code, 0);
  assert.equal(result('o-c1').soft!.cached, false);
  assert.equal(result('o-c2').soft!.cached, true);
  assert.deepEqual(readFileSync(join(root, 'o-c1', 'best.png')), readFileSync(join(root, 'o-c2', 'best.png')));
});

test('bad soft input: one line each, the right exit code, nothing written', async () => {
  const tiny = tinyLlmBodyIdentity();
  const bad = (name: string): string => {
    const dir = join(root, 'bad', name);
    rmSync(dir, { recursive: true, force: true });
    cpSync(join(root, 'fx', 'soft'), dir, { recursive: true });
    return dir;
  };
  mkdirSync(join(root, 'bad'), { recursive: true });
  const other = initSoftModule({
    body: { id: 'meta-llama/Llama-2-7b-chat-hf', config: { ...tiny.config, hidden: 32 }, fingerprint: 'd'.repeat(64) },
    condWidth: 768,
    scene: 'movie',
    templateVersion: '1',
  });
  writeSoftModule(join(root, 'bad', 'other-llm'), other.config, other.tensors);
  const shapes = bad('shapes');
  const config = JSON.parse(readFileSync(join(shapes, SOFT_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(shapes, SOFT_CONFIG_FILE), JSON.stringify({ ...config, P: 6 }));
  const noTokens = bad('n0');
  writeFileSync(join(noTokens, SOFT_CONFIG_FILE), JSON.stringify({ ...config, N: 0 }));
  const truncated = bad('truncated');
  const bytes = readFileSync(join(truncated, SOFT_WEIGHTS_FILE));
  writeFileSync(join(truncated, SOFT_WEIGHTS_FILE), bytes.subarray(0, 1000));
  const cases: [string[], number, RegExp][] = [
    [
      ['--soft', 'bad/other-llm'],
      2,
      /soft module .*other-llm was made for an LLM with hidden 32, 2 layers, .*\(meta-llama\/Llama-2-7b-chat-hf\), but the LLM body .*llm-body has hidden 64/,
    ],
    [['--soft', 'bad/shapes'], 4, /tensor 'prefix' has shape \[4, 128\]; soft_config\.json needs \[6, 128\]/],
    [['--soft', 'bad/n0'], 4, /"N" is 0: a soft module needs at least one multimodal token/],
    [['--soft', 'bad/truncated'], 4, /soft\.safetensors is not a valid safetensors file: .*truncated/],
    [['--soft', 'fx/soft', '--soft-weight=-1'], 2, /--soft-weight must be a number >= 0, got -1/],
    [['--soft', 'fx/soft', '--soft-weight', 'lots'], 2, /--soft-weight must be a number, got 'lots'/],
    [['--soft-weight', '2'], 2, /--soft-weight needs --soft DIR/],
    [['--method', 'soft'], 2, /--soft is missing: method 'soft' needs a soft module/],
    [['--soft', 'fx/soft', '--method', 'target-only'], 2, /method 'target-only' does not use a soft module/],
    [['--soft', 'no-such-module'], 3, /soft module folder .*no-such-module does not exist/],
    [['--soft', 'fx/soft', '--scene', 'fashion'], 2, /made for the movie scene .*this run's scene is fashion/],
  ];
  for (const [flags, code, pattern] of cases) {
    const args = [...common, ...flags, '--no-cache', '--out', 'o-bad']; // a repeated flag: the last one counts
    const run = await pmg(args);
    assert.equal(run.code, code, `${flags.join(' ')}: ${run.stderr}`);
    const lines = run.stderr.trim().split('\n');
    assert.match(lines.at(-1)!, pattern, flags.join(' '));
    assert.ok(!lines.at(-1)!.includes('    at '), 'no stack trace');
    assert.ok(!existsSync(join(root, 'o-bad')), `${flags.join(' ')} wrote nothing`);
  }
  // A --models folder without llm-body/ and no --llm-body: say which flag is missing.
  mkdirSync(join(root, 'fx2'));
  for (const part of ['llm', 'clip', 'sd']) cpSync(join(root, 'fx', part), join(root, 'fx2', part), { recursive: true });
  const noBody = await pmg([...common.map((a) => (a === 'fx' ? 'fx2' : a)), '--soft', 'fx/soft', '--out', 'o-bad']);
  assert.equal(noBody.code, 2);
  assert.match(noBody.stderr, /--soft needs --llm-body DIR\|ID, the LLM body the module was made for \(pmg\/tiny-llm\); .*fx2 has no llm-body\/ folder/);
});
