import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtures } from '../../fixtures/write-fixtures.js';
import reference from '../../soft/reference/soft-prefix.json' with { type: 'json' };
import { TINY_LLM_CONFIG } from '../../fixtures/tiny-llm.js';
import { writeTinyLlmBody } from '../../fixtures/tiny-llm-body.js';
import { readSoftModule } from '../../soft/soft-module.js';
import { runCli } from '../../testing/run-cli.js';

let root: string;
const z = reference.sizes;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-soft-cli-'));
  await writeFixtures(join(root, 'fx'), { only: ['sd', 'soft', 'llm-body'] });
  // A real body of the reference's shape (its weights do not matter to import).
  await writeTinyLlmBody(join(root, 'ref-body'), 'standard', {
    ...TINY_LLM_CONFIG,
    hidden: z.hidden,
    layers: z.layers,
    heads: z.heads,
    kvHeads: z.kvHeads,
    headDim: z.headDim,
  });
  writeFileSync(join(root, 'port.safetensors'), Buffer.from(reference.files.port, 'base64'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

const pmg = (args: string[]) => runCli(args, { cwd: root, env: { PMG_CACHE_DIR: join(root, 'cache'), PMG_OFFLINE: '1' } });

test('soft init for the tiny LLM and SD with --seed 0 is the fixture module, byte for byte', async () => {
  const run = await pmg(['soft', 'init', '--llm-body', 'fx/llm-body', '--sd', 'fx/sd', '--out', 'init-a']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /P 4 prefix positions, N 4 multimodal tokens, reparameterisation none, 50,688 parameters/);
  assert.match(run.stdout, /768-wide text \(SD 1\.x\); soft prompt movie-soft version 1/);
  assert.deepEqual(readFileSync(join(root, 'init-a', 'soft.safetensors')), readFileSync(join(root, 'fx', 'soft', 'soft.safetensors')));
  const module = readSoftModule(join(root, 'init-a'));
  assert.equal(module.config.llm.id, join(root, 'fx', 'llm-body'));
  assert.equal(module.config.generator.id, join(root, 'fx', 'sd'));
  const json = await pmg([
    'soft',
    'init',
    '--llm',
    'fx/llm-body',
    '--cond-width',
    '1024',
    '--mlp',
    '--prefix',
    '2',
    '--tokens',
    '3',
    '--seed',
    '5',
    '--scene',
    'sticker',
    '--out',
    'init-b',
    '--json',
  ]);
  assert.equal(json.code, 0, json.stderr);
  const printed = JSON.parse(json.stdout) as {
    fingerprint: string;
    parameters: number;
    config: { reparameterisation: string; generator: { family: string }; template: { name: string } };
  };
  assert.deepEqual([printed.config.reparameterisation, printed.config.generator.family, printed.config.template.name], ['mlp', 'sd2', 'sticker-soft']);
  assert.equal(printed.fingerprint, readSoftModule(join(root, 'init-b')).fingerprint);
  assert.equal(printed.parameters, 2 * 64 + 64 * 65 + 128 * 65 + 3 * 64 + 1024 * 65);
});

test("soft import of the PMG port state dict writes a module whose tensors are the file's", async () => {
  const run = await pmg(['soft', 'import', 'port.safetensors', '--llm-body', 'ref-body', '--cond-width', String(z.condWidth), '--out', 'imported']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /made by import from port\.safetensors/);
  const module = readSoftModule(join(root, 'imported'));
  assert.deepEqual([module.config.P, module.config.N, module.config.trainedWith], [z.P, z.N, 'import']);
  assert.deepEqual(Array.from(module.tensors.prefix!), reference.table);
});

test('bad input: one line, non-zero exit, nothing written', async () => {
  writeFileSync(join(root, 'cut.safetensors'), Buffer.from(reference.files.port, 'base64').subarray(0, 200));
  const cases: [string[], number, RegExp][] = [
    [['soft', 'init', '--llm-body', 'fx/llm-body', '--sd', 'fx/sd', '--tokens', '0', '--out', 'bad'], 2, /--tokens must be a whole number from 1 .*N = 0/],
    [['soft', 'init', '--llm-body', 'fx/llm-body', '--out', 'bad'], 2, /give the generator: --sd DIR\|ID .* or --cond-width N/],
    [['soft', 'init', '--sd', 'fx/sd', '--out', 'bad'], 2, /missing --llm-body/],
    [
      ['soft', 'init', '--llm', 'fx/llm-body', '--llm-body', 'ref-body', '--sd', 'fx/sd', '--out', 'bad'],
      2,
      /--llm fx\/llm-body and --llm-body ref-body name two LLM bodies; give one/,
    ],
    [['soft', 'init', '--llm', './fx/nothing', '--sd', 'fx/sd', '--out', 'bad'], 3, /model folder .*fx\/nothing does not exist/],
    [['soft', 'init', '--llm-body', 'fx/llm-body', '--sd', 'fx/sd', '--prefix-hidden', '8', '--out', 'bad'], 2, /--prefix-hidden needs --mlp/],
    [
      ['soft', 'import', 'port.safetensors', '--llm-body', 'fx/llm-body', '--sd', 'fx/sd', '--out', 'bad'],
      4,
      /'trainable_prompt' has shape \[1, 2, 40\]; the multimodal tokens must be \[N, 64\]/,
    ],
    [
      ['soft', 'import', 'port.safetensors', '--llm-body', 'ref-body', '--sd', 'fx/sd', '--out', 'bad'],
      4,
      /maps into 6-wide embeddings, but the generator .*fx\/sd has 768-wide text embeddings/,
    ],
    [['soft', 'import', 'cut.safetensors', '--llm-body', 'ref-body', '--cond-width', '6', '--out', 'bad'], 4, /not a valid safetensors file: .*truncated/],
    [['soft', 'import', 'missing.safetensors', '--llm-body', 'ref-body', '--cond-width', '6', '--out', 'bad'], 3, /missing\.safetensors does not exist/],
  ];
  for (const [args, code, pattern] of cases) {
    const run = await pmg(args);
    assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, pattern);
    assert.ok(!existsSync(join(root, 'bad')), `${args.join(' ')} wrote nothing`);
  }
  assert.ok(!readdirSync(root).some((name) => name.includes('.tmp-')));
});
