import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { packageRoot } from '../core/package-root.js';
import type { VaeDecoder } from '../spec/diffusion-models.js';
import type { FloatTensor } from '../spec/tensor.js';
import { needsTiles, tileCount, tiledDecode, tiledVaeDecoder, tileStarts } from './vae-tiling.js';

interface ReferenceCase {
  name: string;
  k: number;
  h: number;
  w: number;
  tileSampleSize: number;
  tileLatentSize: number;
  dims: number[];
  tiles: number;
  sha256: string;
  samples: [number, number][];
}

const reference = JSON.parse(readFileSync(`${packageRoot()}/src/pipeline/reference/vae-tiling.json`, 'utf8')) as { cases: ReferenceCase[] };

/** scripts/reference/vae_tiling.py's latents: ((b*131 + c*31 + y*7 + x*3) mod 17) / 8 - 1, exact in float32. */
function fakeLatents(k: number, h: number, w: number): FloatTensor {
  const data = new Float32Array(k * 4 * h * w);
  let i = 0;
  for (let b = 0; b < k; b++)
    for (let c = 0; c < 4; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[i++] = ((b * 131 + c * 31 + y * 7 + x * 3) % 17) / 8 - 1;
  return { data, dims: [k, 4, h, w] };
}

/** The script's fake decoder, float32 step by step: 8x8 blocks plus a term of the tile-local pixel position. */
function fakeDecoder(calls: number[][] = []): VaeDecoder {
  const weights = [0.5, -0.75, 1.25].map(Math.fround);
  const f = Math.fround;
  return {
    scalingFactor: 1,
    async decode(z) {
      calls.push([...z.dims]);
      const [k, , h, w] = z.dims as [number, number, number, number];
      const H = 8 * h;
      const W = 8 * w;
      const out = new Float32Array(k * 3 * H * W);
      const at = (b: number, c: number, y: number, x: number): number => z.data[((b * 4 + c) * h + Math.floor(y / 8)) * w + Math.floor(x / 8)]!;
      for (let b = 0; b < k; b++) {
        for (let c = 0; c < 3; c++) {
          for (let y = 0; y < H; y++) {
            for (let x = 0; x < W; x++) {
              const position = f(f(y * f(0.01)) + f(x * f(-0.003)));
              out[((b * 3 + c) * H + y) * W + x] = f(f(f(at(b, c, y, x) * weights[c]!) + f(at(b, 3, y, x) * f(0.25))) + position);
            }
          }
        }
      }
      return { data: out, dims: [k, 3, H, W] };
    },
  };
}

for (const c of reference.cases) {
  test(`tiled decode equals diffusers' tiled_decode (torch reference): ${c.name}`, async () => {
    const calls: number[][] = [];
    const image = await tiledDecode(fakeDecoder(calls), fakeLatents(c.k, c.h, c.w), { tileSampleSize: c.tileSampleSize, tileLatentSize: c.tileLatentSize });
    assert.deepEqual(image.dims, c.dims);
    assert.equal(calls.length, c.tiles);
    assert.equal(tileCount({ tileSampleSize: c.tileSampleSize, tileLatentSize: c.tileLatentSize }, c.h, c.w), c.tiles);
    for (const [index, value] of c.samples) assert.equal(image.data[index], Math.fround(value), `value ${index}`);
    const bytes = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), c.sha256, 'every value identical');
  });
}

test('tiles start every int(tile * 0.75) latent px; a latent no larger than one tile is decoded whole', () => {
  const sd = { tileSampleSize: 512, tileLatentSize: 64 };
  assert.deepEqual(tileStarts(sd, 128), [0, 48, 96]);
  assert.equal(needsTiles(sd, 64, 64), false);
  assert.equal(needsTiles(sd, 64, 65), true);
  assert.equal(tileCount(sd, 64, 64), 1);
  assert.equal(tileCount(sd, 128, 128), 9);
});

test('the seams are blended: a tiled decode differs from the whole decode only near tile borders', async () => {
  const latents = fakeLatents(1, 10, 10);
  const whole = await fakeDecoder().decode(latents);
  const tiled = await tiledVaeDecoder(fakeDecoder(), { tileSampleSize: 32, tileLatentSize: 4 }).decode(latents);
  assert.deepEqual(tiled.dims, whole.dims);
  // Inside the first tile, before any blending region (rows and columns < 24), both agree.
  assert.equal(tiled.data[5 * 80 + 5], whole.data[5 * 80 + 5]);
  let differing = 0;
  for (let i = 0; i < whole.data.length; i++) if (tiled.data[i] !== whole.data[i]) differing++;
  assert.ok(differing > 0, 'the tile-local position term makes tiles differ');
});

test('the wrapper keeps the scaling factor and stops when aborted', async () => {
  const vae = tiledVaeDecoder({ ...fakeDecoder(), scalingFactor: 0.18215 }, { tileSampleSize: 32, tileLatentSize: 4 });
  assert.equal(vae.scalingFactor, 0.18215);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    tiledDecode(fakeDecoder(), fakeLatents(1, 9, 9), { tileSampleSize: 32, tileLatentSize: 4 }, controller.signal),
    /stopped while decoding tiles/,
  );
  await assert.rejects(tiledDecode(fakeDecoder(), fakeLatents(1, 9, 9), { tileSampleSize: 32, tileLatentSize: 1 }), /do not advance/);
});
