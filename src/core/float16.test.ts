import assert from 'node:assert/strict';
import { test } from 'node:test';
import { float16ToFloat32, float32ToFloat16, fromFloat16Bits, toFloat16Bits } from './float16.js';

test('known half-precision bit patterns', () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [2 ** -24, 0x0001],
    [2 ** -14, 0x0400],
    [Infinity, 0x7c00],
    [1e6, 0x7c00],
    [1 + 2 ** -11, 0x3c00] /* ties to even */,
    [1 + 3 * 2 ** -11, 0x3c02],
  ];
  for (const [value, bits] of cases) {
    assert.equal(toFloat16Bits(value), bits, `${value}`);
    if (Number.isFinite(value) && value <= 65504 && bits !== 0x3c00 && bits !== 0x3c02) assert.equal(fromFloat16Bits(bits), value);
  }
  assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN))));
});

test('round trip stays within half precision', () => {
  const values = Float32Array.from([0.1, -3.14159, 123.456, 1e-3, -0.99]);
  const back = float16ToFloat32(float32ToFloat16(values));
  values.forEach((v, i) => assert.ok(Math.abs(back[i]! - v) <= Math.abs(v) * 2 ** -11 + 1e-7, `${v} -> ${back[i]}`));
});
