import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assetPath } from '../core/package-root.js';
import { readImageRgb } from '../core/image-io.js';
import { bilinearTaps, inceptionInput } from './inception-input.js';
import reference from './reference/inception-resize.json' with { type: 'json' };

const image = (name: string) => readImageRgb(assetPath('test-data', 'metrics', name));
const floats = (b64: string) => {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
};

test("inception input equals torch's F.interpolate(bilinear, align_corners=False) then 2x-1, down and up", async () => {
  for (const c of reference.cases) {
    const img = await image(c.image);
    assert.equal(img.width, c.width);
    const { data, dims } = inceptionInput([img], c.size);
    assert.deepEqual(dims, [1, 3, c.size, c.size]);
    const expected = floats(c.nchw_float32_base64);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(data[i]! - expected[i]!));
    assert.ok(worst <= 5e-7, `${c.image} -> ${c.size}: largest difference ${worst}`);
  }
});

test('at 299 x 299 (pytorch-fid) the sampled values and the mean match torch', async () => {
  const ref = reference.size_299;
  const { data } = inceptionInput([await image(ref.image)], 299);
  const expected = floats(ref.nchw_float32_base64);
  const [, channels, rows, cols] = ref.shape as [number, number, number, number];
  let k = 0;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < cols; x++) {
        const got = data[c * 299 * 299 + y * ref.step * 299 + x * ref.step]!;
        assert.ok(Math.abs(got - expected[k++]!) <= 5e-7, `channel ${c} (${y * ref.step}, ${x * ref.step})`);
      }
    }
  }
  const mean = data.reduce((a, b) => a + b, 0) / data.length;
  assert.ok(Math.abs(mean - ref.mean) < 1e-6);
});

test('no antialiasing when shrinking: each output reads two neighbours; same size is a copy', () => {
  const taps = bilinearTaps(8, 2);
  // ratio 4: source = 4 (o + 0.5) - 0.5 = 1.5 and 5.5.
  assert.deepEqual([...taps.index0], [1, 5]);
  assert.deepEqual([...taps.index1], [2, 6]);
  assert.deepEqual([...taps.weight1], [0.5, 0.5]);
  const same = bilinearTaps(5, 5);
  assert.deepEqual([...same.index0], [0, 1, 2, 3, 4]);
  assert.deepEqual([...same.weight0], [1, 1, 1, 1, 1]);
  const up = bilinearTaps(2, 4); // source -0.25 clamps to 0, 0.25, 0.75, 1.25 -> last pixel
  assert.deepEqual([...up.index0], [0, 0, 0, 1]);
  assert.deepEqual([...up.index1], [1, 1, 1, 1]);
  assert.deepEqual([...up.weight1], [0, 0.25, 0.75, 0.25]);
  const pixel = { width: 1, height: 1, data: Uint8Array.of(255, 0, 51) };
  assert.deepEqual([...inceptionInput([pixel], 1).data], [1, -1, Math.fround(2 * Math.fround(51 / 255) - 1)]);
});
