import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DataType, GraphBuilder } from '../fixtures/onnx-graph.js';
import { PmgError } from '../errors/pmg-error.js';
import { OnnxSession, SessionPool, ort } from './onnx-session.js';

let dir: string;
let modelPath: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pmg-session-'));
  // y = x * 2 + 1 on a [n] float tensor.
  const g = new GraphBuilder('affine');
  const x = g.input('x', DataType.FLOAT, ['n']);
  const doubled = g.op('Mul', [x, g.scalarFloat(2)]);
  g.op('Add', [doubled, g.scalarFloat(1)], {}, 'y');
  g.output('y', DataType.FLOAT, ['n']);
  modelPath = join(dir, 'affine.onnx');
  writeFileSync(modelPath, g.toBytes());
});
after(() => rmSync(dir, { recursive: true, force: true }));

const feed = (values: number[]) => ({ x: new ort.Tensor('float32', Float32Array.from(values), [values.length]) });

test('a pool creates one session per file and options, and releaseAll empties it', async () => {
  const pool = new SessionPool({ intraOpThreads: 1 });
  const [a, b] = await Promise.all([pool.get(modelPath), pool.get(modelPath)]);
  assert.equal(a, b, 'the same file gives the same session');
  assert.equal(pool.size, 1);
  const other = await pool.get(modelPath, { intraOpThreads: 2 });
  assert.notEqual(other, a, 'other options give another session');
  assert.equal(pool.size, 2);
  await pool.releaseAll();
  assert.equal(pool.size, 0);
});

test('runs on one session are serialised and each gets its own answer', async () => {
  const session = await OnnxSession.create(modelPath, { intraOpThreads: 1 });
  const order: number[] = [];
  const runs = [1, 2, 3, 4].map((v) => session.run(feed([v])).then((out) => (order.push(v), Array.from(out.y!.data as Float32Array))));
  const results = await Promise.all(runs);
  assert.deepEqual(results, [[3], [5], [7], [9]]);
  assert.deepEqual(order, [1, 2, 3, 4], 'runs finish in the order they were asked for');
  assert.equal(session.runCount, 4);
  await session.release();
});

test('input metadata, expectations and failures give clear errors without data', async () => {
  const session = await OnnxSession.create(modelPath, { intraOpThreads: 1 });
  assert.equal(session.inputInfo('x')?.type, 'float32');
  assert.throws(
    () => session.expect('affine model', ['x', 'sample']),
    (e: unknown) => e instanceof PmgError && e.code === 'model-layout' && /inputs sample/.test(e.message) && /it has inputs x/.test(e.message),
  );
  await assert.rejects(
    session.run({ x: new ort.Tensor('int64', BigInt64Array.of(1n), [1]) }),
    (e: unknown) => e instanceof PmgError && /x:int64\[1\]/.test(e.message),
  );
  // A failed run does not block the next one.
  assert.deepEqual(Array.from((await session.run(feed([0]))).y!.data as Float32Array), [1]);
  await session.release();
  await assert.rejects(
    OnnxSession.create(join(dir, 'missing.onnx')),
    (e: unknown) => e instanceof PmgError && e.code === 'model-file-missing' && /missing\.onnx/.test(e.message),
  );
});

test('sessions run without the memory pattern and with the CPU arena unless asked (docs/performance.md)', async () => {
  const pool = new SessionPool({ intraOpThreads: 1 });
  const plain = await pool.get(modelPath);
  assert.equal(plain.options.memoryPattern, false);
  assert.equal(plain.options.cpuArena, true);
  const patterned = await pool.get(modelPath, { memoryPattern: true, cpuArena: false });
  assert.notEqual(patterned, plain, 'other memory options give another session');
  assert.deepEqual([patterned.options.memoryPattern, patterned.options.cpuArena], [true, false]);
  assert.deepEqual(Array.from((await patterned.run(feed([2]))).y!.data as Float32Array), [5]);
  await pool.releaseAll();
});
