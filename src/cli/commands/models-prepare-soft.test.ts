import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFixtures } from '../../fixtures/write-fixtures.js';
import { writeTinyLlmVariant } from '../../fixtures/tiny-llm-variants.js';
import { loadLlmBody } from '../../runtime/llm-body.js';
import { runCli, type CliRun } from '../../testing/run-cli.js';

const work = await mkdtemp(join(tmpdir(), 'pmg-prepare-soft-cli-'));
after(() => rm(work, { recursive: true, force: true }));
await writeFixtures(join(work, 'fx'), { only: ['llm', 'llm-body-gqa'] });
const builderFingerprint = (await loadLlmBody(join(work, 'fx', 'llm-body-gqa'))).fingerprint;

function run(argv: string[]): Promise<CliRun> {
  return runCli(argv, { cwd: work, env: { PMG_CACHE_DIR: join(work, 'cache'), HOME: work } });
}

function oneLine(result: CliRun, code: number, message: RegExp): void {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, message);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
}

test('pmg models prepare-soft fx/llm --out fx/body2 writes a body that loads, with the builder fixture fingerprint', async () => {
  const result = await run(['models', 'prepare-soft', 'fx/llm', '--out', 'fx/body2']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^LLM body written to .*fx[\\/]body2 \(from fx\/llm, onnx\/model\.onnx\)\n/);
  assert.match(result.stdout, /\n {2}dims: hidden 64, layers 2, heads 4 \(key\/value heads 2\), head size 16, vocab \d+\n/);
  assert.match(result.stdout, /\n {2}embedding table: embed_tokens\.safetensors F32 \[\d+, 64\] from the float32 initializer embed_tokens_0\n/);
  assert.match(result.stdout, /\n {2}hidden states: last_hidden_state = the graph's own last_hidden_state output\n/);
  assert.match(result.stdout, /\n {2}removed: inputs input_ids; outputs logits; 2 nodes, 2 weights\n/);
  assert.ok(result.stdout.includes(`\n  fingerprint: ${builderFingerprint}\n`), result.stdout);
  assert.match(result.stdout, /\n {2}pmg-body\.json {2}/);
  assert.equal(result.stderr, '');
  assert.equal((await loadLlmBody(join(work, 'fx', 'body2'))).fingerprint, builderFingerprint);
});

test('--json, --dtype q8 on a quantized export with external data', async () => {
  await writeTinyLlmVariant(join(work, 'q8'), { embedding: 'int8-gather-dequantize', externalData: true });
  const result = await run(['models', 'prepare-soft', 'q8', '--dtype', 'q8', '--out', 'q8-body', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const parsed = JSON.parse(result.stdout) as {
    source: { file: string };
    table: { from: string };
    externalData: Array<{ file: string }>;
    fingerprint: string;
    hiddenFrom: string;
  };
  assert.equal(parsed.source.file, 'onnx/model_quantized.onnx');
  assert.match(parsed.table.from, /^int8 initializer .* gathered, then DequantizeLinear node .*dequantized once$/);
  assert.deepEqual(
    parsed.externalData.map((d) => d.file),
    ['model_quantized.onnx_data'],
  );
  assert.match(parsed.hiddenFrom, /^the input of the LM head MatMul node/);
  assert.match(parsed.fingerprint, /^[0-9a-f]{64}$/);
  assert.notEqual(parsed.fingerprint, builderFingerprint, 'a dequantized table is other weights');
});

test('--table-only writes embed_tokens.safetensors into a builder export that lacks it', async () => {
  rmSync(join(work, 'fx', 'llm-body-gqa', 'embed_tokens.safetensors'));
  const result = await run(['models', 'prepare-soft', 'fx/llm', '--table-only', '--out', 'fx/llm-body-gqa']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^embedding table written to .*llm-body-gqa[\\/]embed_tokens\.safetensors \(from fx\/llm, onnx\/model\.onnx\)\n/);
  assert.ok(result.stdout.includes(`fingerprint: ${builderFingerprint}`));
  assert.equal((await loadLlmBody(join(work, 'fx', 'llm-body-gqa'))).fingerprint, builderFingerprint);
});

test('bad input is one line with a non-zero exit, and nothing is written', async () => {
  oneLine(await run(['models', 'prepare-soft', 'fx/llm']), 2, /^pmg: 'pmg models prepare-soft' needs --out DIR/);
  oneLine(
    await run(['models', 'prepare-soft', 'fx/llm', '--out', 'b1', '--dtype', 'q9']),
    2,
    /^pmg: --dtype must be one of fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4, got 'q9'/,
  );
  oneLine(await run(['models', 'prepare-soft', 'missing', '--out', 'b2']), 5, /^pmg: model 'missing' is neither an existing folder nor a hub repo id/);
  oneLine(await run(['models', 'prepare-soft', 'fx/llm-body-gqa', '--out', 'b3']), 5, /^pmg: text-generation export folder .*llm-body-gqa lacks config\.json/);
  oneLine(await run(['models', 'prepare-soft', 'fx/llm', '--out', 'fx/body2']), 2, /^pmg: --out: .*body2 already exists; remove it or choose another folder/);
  oneLine(await run(['models', 'prepare-soft', 'fx/llm', '--out', 'fx/llm/config.json']), 74, /^pmg: --out .*config\.json is a file; give a folder/);
  for (const name of ['b1', 'b2', 'b3']) assert.equal(existsSync(join(work, name)), false);
  assert.deepEqual(
    readdirSync(join(work, 'fx')).filter((entry) => entry.includes('.tmp-')),
    [],
  );
});
