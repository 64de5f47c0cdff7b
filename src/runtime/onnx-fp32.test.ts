import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { float16ToFloat32, float32ToFloat16 } from '../core/float16.js';
import { isPmgError } from '../errors/pmg-error.js';
import { DataType, GraphBuilder, attr } from '../fixtures/onnx-graph.js';
import { writeTinySd } from '../fixtures/tiny-sd.js';
import { textToImage } from '../pipeline/text-to-image.js';
import { loadStableDiffusion } from '../providers/image/onnx-stable-diffusion.js';
import { ensureFp32Copies, fp32CopyPath, onnxFileFor } from './fp32-copies.js';
import { convertOnnxToFp32 } from './onnx-fp32.js';
import { isFp16Graph, ONNX_FLOAT, ONNX_FLOAT16, scanOnnxDtypes } from './onnx-scan.js';
import { ort, SessionPool } from './onnx-session.js';

const { onnx } = onnxProto;
let root: string;
const pool = new SessionPool({ intraOpThreads: 1 });

before(() => {
  root = mkdtempSync(join(tmpdir(), 'pmg-fp32-'));
});
after(async () => {
  await pool.releaseAll();
  rmSync(root, { recursive: true, force: true });
});

const half = (values: number[]): Uint16Array => float32ToFloat16(Float32Array.from(values));

/**
 * A graph that computes in fp16 everywhere a converter must look: fp16 input/output and value_info, an fp16 weight
 * (moved to external data), an fp16 Constant, ConstantOfShape with an fp16 value, Cast to fp16, and an If whose
 * branch holds an fp16 Constant.
 */
function fp16Graph(): Uint8Array {
  const g = new GraphBuilder('fp16_everywhere');
  const x = g.input('x', DataType.FLOAT16, [2, 4]);
  const weight = g.initializer('weight', DataType.FLOAT16, [4, 300], half(Array.from({ length: 1200 }, (_, i) => Math.sin(i) / 3)));
  const y = g.op('MatMul', [x, weight]);
  const bias = g.node('Constant', [], 1, {
    value: { tensor: { type: DataType.FLOAT16, dims: [300], data: half(Array.from({ length: 300 }, (_, i) => i / 300)) } },
  })[0]!;
  const shifted = g.op('Add', [y, bias]);
  const filled = g.op('ConstantOfShape', [g.op('Shape', [shifted])], { value: { tensor: { type: DataType.FLOAT16, dims: [1], data: half([0.5]) } } });
  const sum = g.op('Add', [shifted, filled]);
  const doubled = g.op('Mul', [g.op('Cast', [sum], { to: attr.int(DataType.FLOAT) }), g.scalarFloat(2)]);
  const back = g.op('Cast', [doubled], { to: attr.int(DataType.FLOAT16) });
  g.output('y', DataType.FLOAT16, [2, 300]);
  g.op('Identity', [back], {}, 'y');
  const model = onnx.ModelProto.decode(g.toBytes());
  model.graph!.valueInfo = [{ name: sum, type: { tensorType: { elemType: ONNX_FLOAT16, shape: { dim: [{ dimValue: 2 }, { dimValue: 300 }] } } } }];
  return onnx.ModelProto.encode(model).finish();
}

/** Move every initializer's raw bytes of `model.onnx` to `weights.bin` (the way large exports store them). */
function externalize(path: string, dataName: string): void {
  const model = onnx.ModelProto.decode(readFileSync(path));
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph!.initializer!) {
    const bytes = t.rawData!;
    t.externalData = [
      { key: 'location', value: dataName },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(bytes.length) },
    ];
    t.dataLocation = 1;
    t.rawData = new Uint8Array(0);
    chunks.push(bytes);
    offset += bytes.length;
  }
  writeFileSync(join(path, '..', dataName), Buffer.concat(chunks));
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
}

async function run(path: string, input: Float32Array, type: 'float16' | 'float32'): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path, { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const feed = type === 'float16' ? new ort.Tensor('float16', float32ToFloat16(input), [2, 4]) : new ort.Tensor('float32', input, [2, 4]);
    const out = (await session.run({ x: feed })).y!;
    assert.equal(out.type, type);
    return type === 'float16' ? float16ToFloat32(out.data as Uint16Array) : (out.data as Float32Array);
  } finally {
    await session.release();
  }
}

test('every fp16 place becomes fp32: weights (from external data), Constant, ConstantOfShape, Cast, inputs, outputs, value_info', async () => {
  const dir = join(root, 'graph');
  mkdirSync(dir);
  const source = join(dir, 'model.onnx');
  writeFileSync(source, fp16Graph());
  externalize(source, 'weights.bin');
  const before = scanOnnxDtypes(source);
  assert.ok(isFp16Graph(before));
  assert.deepEqual(before.ioTypes, [ONNX_FLOAT16, ONNX_FLOAT16]);

  const conversion = convertOnnxToFp32(source, fp32CopyPath(source));
  assert.equal(conversion.dest, join(dir, 'model.fp32.onnx'));
  assert.equal(conversion.tensors, 3, 'the weight, the Constant and the ConstantOfShape value');
  assert.equal(conversion.types, 4, 'input, output, value_info and the Cast to fp16');
  const after = scanOnnxDtypes(conversion.dest);
  assert.equal(isFp16Graph(after), false);
  assert.deepEqual(after.ioTypes, [ONNX_FLOAT, ONNX_FLOAT]);
  const model = onnx.ModelProto.decode(readFileSync(conversion.dest));
  const weight = model.graph!.initializer!.find((t) => t.name === 'weight')!;
  assert.deepEqual(
    weight.externalData!.map((e) => [e.key, e.value]),
    [
      ['location', 'model.fp32.onnx.data'],
      ['offset', '0'],
      ['length', String(1200 * 4)],
    ],
  );
  assert.ok(existsSync(join(dir, 'model.fp32.onnx.data')));
  assert.ok(!existsSync(`${conversion.dest}.tmp-${process.pid}`), 'no temporary file left');

  const input = Float32Array.from({ length: 8 }, (_, i) => (i - 3) / 4);
  const original = await run(source, input, 'float16');
  const converted = await run(conversion.dest, input, 'float32');
  let worst = 0;
  for (let i = 0; i < original.length; i++) worst = Math.max(worst, Math.abs(original[i]! - converted[i]!) / Math.max(1, Math.abs(converted[i]!)));
  assert.ok(worst < 4e-3, `within fp16 rounding: ${worst}`);
  assert.ok(worst > 0, 'the fp16 graph really rounds to fp16');
});

test("the fp16 tiny SD: the fp32 copies load on CPU and give the fp32 model's image; fp16 rounding away from the fp16 run", async () => {
  const fp16 = writeTinySd(join(root, 'sd16'), { fp16: true });
  const fp32 = writeTinySd(join(root, 'sd32'));
  const request = {
    candidates: [{ prompt: 'a cute cat' }],
    steps: 3,
    width: 64,
    height: 64,
    guidanceScale: 7.5,
    scheduler: 'ddim',
    seed: 3,
    warn: () => undefined,
  };
  const asPublished = await textToImage(await loadStableDiffusion(fp16, { pool, warn: () => undefined }), request);

  const results = ensureFp32Copies(fp16, ['text_encoder/model.onnx', 'unet/model.onnx', 'vae_decoder/model.onnx', 'model_index.json']);
  assert.deepEqual(
    results.map((r) => [r.file, r.status]),
    [
      ['text_encoder/model.onnx', 'converted'],
      ['unet/model.onnx', 'converted'],
      ['vae_decoder/model.onnx', 'converted'],
    ],
  );
  const model = await loadStableDiffusion(fp16, { pool, warn: () => undefined });
  assert.equal(model.sessions.unet.path, join(fp16, 'unet', 'model.fp32.onnx'));
  assert.equal(model.sessions.unet.inputInfo('sample')?.type, 'float32');
  const converted = await textToImage(model, request);
  const reference = await textToImage(await loadStableDiffusion(fp32, { pool, warn: () => undefined }), request);
  assert.deepEqual(converted.images.data, reference.images.data, 'the fixture keeps fp32 weights behind fp16 casts: its fp32 copy is the fp32 model');
  let worst = 0;
  for (let i = 0; i < converted.images.data.length; i++) worst = Math.max(worst, Math.abs(converted.images.data[i]! - asPublished.images.data[i]!));
  assert.ok(worst > 0 && worst < 0.02, `fp16 rounding only: ${worst}`);

  assert.deepEqual(
    ensureFp32Copies(fp16, ['unet/model.onnx']).map((r) => r.status),
    ['kept'],
    'made once',
  );
  assert.equal(onnxFileFor(join(fp16, 'unet', 'model.onnx'), 'cuda'), join(fp16, 'unet', 'model.onnx'), 'fp16 stays for CUDA');
  // An original newer than its copy (re-downloaded): the copy is stale, not used, and made again.
  const later = new Date(statSync(join(fp16, 'unet', 'model.fp32.onnx')).mtimeMs + 5000);
  utimesSync(join(fp16, 'unet', 'model.onnx'), later, later);
  assert.equal(onnxFileFor(join(fp16, 'unet', 'model.onnx'), 'cpu'), join(fp16, 'unet', 'model.onnx'));
  assert.deepEqual(
    ensureFp32Copies(fp16, ['unet/model.onnx']).map((r) => r.status),
    ['converted'],
  );
  assert.deepEqual(
    ensureFp32Copies(fp32, ['unet/model.onnx']).map((r) => r.status),
    ['fp32'],
  );
});

test('a hub model (cached folder) on CPU gets its fp32 copies when it loads, with one note', async () => {
  const dir = join(root, 'hub-sd16');
  cpSync(writeTinySd(join(root, 'sd16-src'), { fp16: true }), dir, { recursive: true });
  const notes: string[] = [];
  const model = await loadStableDiffusion('owner/sd-fp16', {
    pool,
    resolve: async () => ({ dir, id: 'owner/sd-fp16@abc', cached: true }),
    warn: (m) => notes.push(m),
  });
  assert.equal(model.sessions.vaeDecoder.path, join(dir, 'vae_decoder', 'model.fp32.onnx'));
  assert.deepEqual(
    notes,
    ['text_encoder', 'unet', 'vae_decoder'].map(
      (p) => `model owner/sd-fp16@abc: ${p}/model.onnx is fp16; writing its fp32 copy for CPU once (beside it in the cache; fp16 stays for CUDA)`,
    ),
  );
});

test('what cannot be converted is one line naming the file (and nothing is left half-written)', () => {
  const dir = join(root, 'bad');
  mkdirSync(dir);
  writeFileSync(join(dir, 'junk.onnx'), 'not a model at all');
  const check = (path: string, pattern: RegExp) =>
    assert.throws(
      () => convertOnnxToFp32(path, join(dir, 'out.onnx')),
      (error: unknown) => isPmgError(error) && error.code === 'model-layout' && pattern.test(error.message) && !error.message.includes('\n'),
    );
  check(join(dir, 'junk.onnx'), /^cannot convert .*junk\.onnx to fp32: it is not an ONNX model/);
  writeFileSync(join(dir, 'lost.onnx'), fp16Graph());
  externalize(join(dir, 'lost.onnx'), 'lost.bin');
  rmSync(join(dir, 'lost.bin'));
  check(join(dir, 'lost.onnx'), /^cannot convert .*lost\.onnx to fp32: tensor weight is in lost\.bin, which is missing beside the graph$/);
  const sparse = onnx.ModelProto.decode(fp16Graph());
  sparse.graph!.sparseInitializer = [
    {
      values: { name: 'sv', dataType: ONNX_FLOAT16, dims: [1], rawData: new Uint8Array(2) },
      indices: { name: 'si', dataType: 7, dims: [1], rawData: new Uint8Array(8) },
      dims: [4],
    },
  ];
  writeFileSync(join(dir, 'sparse.onnx'), onnx.ModelProto.encode(sparse).finish());
  check(join(dir, 'sparse.onnx'), /sparse initializer sv is fp16/);
  assert.ok(!existsSync(join(dir, 'out.onnx')) && !existsSync(join(dir, 'out.onnx.data')));
  assert.throws(() => scanOnnxDtypes(join(dir, 'junk.onnx')), /junk\.onnx is not a readable ONNX model/);
});

test('a cached fp16 model whose copy cannot be written still loads, as published, with one note', async () => {
  const dir = join(root, 'hub-readonly');
  cpSync(writeTinySd(join(root, 'sd16-ro'), { fp16: true }), dir, { recursive: true });
  // A folder where the copy's data file should go makes writing it fail (as a read-only cache would).
  mkdirSync(join(dir, 'text_encoder', `model.fp32.onnx.data.tmp-${process.pid}`));
  const notes: string[] = [];
  const model = await loadStableDiffusion('owner/sd-ro', { pool, resolve: async () => ({ dir, id: 'owner/sd-ro', cached: true }), warn: (m) => notes.push(m) });
  assert.equal(model.sessions.textEncoder.path, join(dir, 'text_encoder', 'model.onnx'));
  assert.match(
    notes.at(-1)!,
    /^model owner\/sd-ro: no fp32 copy \(cannot write the fp32 copy .*text_encoder\/model\.fp32\.onnx: EISDIR.*\); loading the fp16 graphs as they are$/,
  );
  assert.equal(model.sessions.textEncoder.inputInfo('input_ids')?.type, 'int32');
});
