/** The .npy reader on files numpy wrote itself (test-data/npy, made by scripts/reference/npy_files.py). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { parseNpyFloat32, readNpyFloat32 } from './npy.js';
import { assetPath } from './package-root.js';

const file = (name: string): string => assetPath('test-data', 'npy', name);
const expected = Array.from({ length: 24 }, (_, i) => Math.fround(Math.sin(0.5 * i) * 3));

function close(actual: Float32Array, values: number[]): void {
  assert.equal(actual.length, values.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - values[i]!) <= 1e-6, `[${i}] ${v} vs ${values[i]}`));
}

const refused = (code: string, pattern: RegExp) => (e: unknown) => e instanceof PmgError && e.code === code && pattern.test(e.message);

describe('.npy float32 reader', () => {
  for (const version of ['v1', 'v2', 'v3']) {
    it(`reads format ${version} ('<f4', C order)`, () => {
      const npy = readNpyFloat32(file(`${version}-f4.npy`));
      assert.deepEqual(npy.shape, [1, 4, 2, 3]);
      close(npy.data, expected);
      assert.equal(
        npy.sha256,
        createHash('sha256')
          .update(readFileSync(file(`${version}-f4.npy`)))
          .digest('hex'),
      );
    });
  }

  it('reads a batch and a 0-d array', () => {
    const batch = readNpyFloat32(file('batch2-f4.npy'));
    assert.deepEqual(batch.shape, [2, 4, 2, 3]);
    close(batch.data, [...expected, ...expected.map((v) => -v)]);
    const scalar = readNpyFloat32(file('scalar-f4.npy'));
    assert.deepEqual(scalar.shape, []);
    assert.deepEqual([...scalar.data], [1.5]);
  });

  it('refuses other dtypes, big-endian data and Fortran order, naming the file and how to save it', () => {
    assert.throws(
      () => readNpyFloat32(file('f8.npy'), 'latents file f8.npy'),
      refused('invalid-input', /^latents file f8\.npy holds dtype '<f8'; pmg reads little-endian float32 \('<f4'\): save it with np\.save/),
    );
    assert.throws(() => readNpyFloat32(file('big-endian-f4.npy'), 'x.npy'), refused('invalid-input', /^x\.npy holds dtype '>f4'/));
    assert.throws(() => readNpyFloat32(file('fortran-f4.npy'), 'x.npy'), refused('invalid-input', /^x\.npy is in Fortran order; pmg reads C order/));
  });

  it('refuses a missing file, a non-npy file, a cut-off file and an unknown version', () => {
    assert.throws(
      () => readNpyFloat32('/nonexistent/x.npy', 'latents file /nonexistent/x.npy'),
      refused('file-not-found', /^latents file \/nonexistent\/x\.npy does not exist$/),
    );
    assert.throws(() => parseNpyFloat32(Buffer.from('PK\u0003\u0004 this is a zip'), 'x.npy'), refused('invalid-input', /x\.npy is not a numpy \.npy file/));
    const good = readFileSync(file('v1-f4.npy'));
    assert.throws(
      () => parseNpyFloat32(good.subarray(0, good.length - 4), 'x.npy'),
      refused('invalid-input', /should hold 24 float32 values \(96 bytes\) for shape \[1, 4, 2, 3\] after its header, but has 92 bytes/),
    );
    assert.throws(() => parseNpyFloat32(good.subarray(0, 40), 'x.npy'), refused('invalid-input', /cut off inside its header/));
    const v9 = Buffer.from(good);
    v9[6] = 9;
    assert.throws(() => parseNpyFloat32(v9, 'x.npy'), refused('invalid-input', /format version 9\.0; pmg reads versions 1\.0, 2\.0 and 3\.0/));
  });
});
