import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import {
  dtypeBytes,
  encodeSafetensors,
  encodeSafetensorsHeader,
  f32Tensor,
  readSafetensors,
  readSafetensorsHeader,
  tensorFloats,
  writeSafetensors,
} from './safetensors.js';

const root = mkdtempSync(join(tmpdir(), 'pmg-safetensors-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A file built by hand from the format's description (not by the writer under test). */
function handMade(header: object, data: number[]): string {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const file = join(root, `hand-${Math.random().toString(36).slice(2)}.safetensors`);
  writeFileSync(file, Buffer.concat([length, json, Buffer.from(data)]));
  return file;
}

test('reads a hand-made file: F32, F16 and BF16 tensors and the metadata', () => {
  const file = handMade(
    {
      __metadata__: { format: 'pt' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      h: { dtype: 'F16', shape: [2], data_offsets: [8, 12] },
      b: { dtype: 'BF16', shape: [1], data_offsets: [12, 14] },
    },
    [0, 0, 128, 63, 0, 0, 0, 192, 0, 60, 0, 184, 128, 63],
  );
  const { tensors, metadata } = readSafetensors(file);
  assert.deepEqual(metadata, { format: 'pt' });
  assert.deepEqual(Array.from(tensorFloats('a', tensors.get('a')!)), [1, -2]);
  assert.deepEqual(Array.from(tensorFloats('h', tensors.get('h')!)), [1, -0.5]);
  assert.deepEqual(Array.from(tensorFloats('b', tensors.get('b')!)), [1]);
});

test('the writer round-trips, pads the header to 8 bytes and is read back by the reader', () => {
  const file = join(root, 'round.safetensors');
  writeSafetensors(file, { w: f32Tensor(Float32Array.of(0.5, 1.5, -3), [3, 1]), z: f32Tensor(new Float32Array(0), [0]) }, { pmg: '1' });
  const bytes = readFileSync(file);
  assert.equal(Number(bytes.readBigUInt64LE(0)) % 8, 0);
  const back = readSafetensors(file);
  assert.deepEqual(back.tensors.get('w')!.shape, [3, 1]);
  assert.deepEqual(Array.from(tensorFloats('w', back.tensors.get('w')!)), [0.5, 1.5, -3]);
  assert.equal(back.tensors.get('z')!.data.length, 0);
  assert.deepEqual(back.metadata, { pmg: '1' });
  assert.deepEqual(encodeSafetensors(new Map([['w', f32Tensor(Float32Array.of(0.5, 1.5, -3), [3, 1])]]), {}).length % 8, 12 % 8);
});

test('broken files are one clear error naming the file and what is wrong', () => {
  const cases: [string, RegExp][] = [
    [join(root, 'short.safetensors'), /fewer than the 8-byte header length/],
    [
      handMade({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, [0, 0, 0, 0]),
      /ends at byte 16 of the data, but the data has 4 bytes \(truncated\?\)/,
    ],
    [handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /needs 8 bytes but has 4/],
    [handMade({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, [0]), /tensor 'a' has dtype "Q4"/],
    [
      handMade({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [1, 3] } }, [0, 0, 0]),
      /'a' and 'b' overlap/,
    ],
  ];
  writeFileSync(cases[0]![0], Buffer.from([1, 2, 3]));
  for (const [file, message] of cases) {
    assert.throws(
      () => readSafetensors(file),
      (e: unknown) => e instanceof PmgError && e.code === 'invalid-input' && message.test(e.message) && e.message.includes(file),
      file,
    );
  }
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(5n);
  writeFileSync(join(root, 'json.safetensors'), Buffer.concat([length, Buffer.from('{"a":')]));
  assert.throws(() => readSafetensors(join(root, 'json.safetensors')), /header is not JSON/);
  assert.throws(
    () => readSafetensors(join(root, 'none.safetensors')),
    (e: unknown) => e instanceof PmgError && e.code === 'file-not-found',
  );
  const ints = readSafetensors(handMade({ i: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, [1, 0, 0, 0, 0, 0, 0, 0]));
  assert.throws(() => tensorFloats('i', ints.tensors.get('i')!, 'x.safetensors'), /x\.safetensors: tensor 'i' has dtype I64; a floating-point tensor/);
});

test('readSafetensorsHeader gives each tensor its file offset without reading the data; the header encoder matches the writer', () => {
  const file = join(root, 'header.safetensors');
  writeSafetensors(file, { a: f32Tensor(Float32Array.of(1, 2), [2]), b: f32Tensor(Float32Array.of(3, 4, 5), [3, 1]) }, { k: 'v' });
  const header = readSafetensorsHeader(file);
  const bytes = readFileSync(file);
  const start = 8 + Number(bytes.readBigUInt64LE(0));
  assert.deepEqual(header.entries.get('a'), { dtype: 'F32', shape: [2], start, byteLength: 8 });
  assert.deepEqual(header.entries.get('b'), { dtype: 'F32', shape: [3, 1], start: start + 8, byteLength: 12 });
  assert.deepEqual(header.metadata, { k: 'v' });
  assert.equal(header.fileBytes, bytes.length);
  assert.equal(bytes.readFloatLE(header.entries.get('b')!.start + 4), 4);
  const head = encodeSafetensorsHeader(
    [
      ['a', { dtype: 'F32', shape: [2], byteLength: 8 }],
      ['b', { dtype: 'F32', shape: [3, 1], byteLength: 12 }],
    ],
    { k: 'v' },
  );
  assert.deepEqual(Buffer.from(head), bytes.subarray(0, start));
  assert.equal(dtypeBytes('BF16'), 2);
  // A truncated file is refused by the header reader too.
  writeFileSync(file, bytes.subarray(0, start + 10));
  assert.throws(() => readSafetensorsHeader(file), /tensor 'b' ends at byte 20 of the data, but the data has 10 bytes \(truncated\?\)/);
  assert.throws(
    () => readSafetensorsHeader(join(root, 'none.safetensors')),
    (error: unknown) => error instanceof PmgError && error.code === 'file-not-found',
  );
});
