import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { imageDifference } from '../testing/image-difference.js';
import { assetPath } from './package-root.js';
import { readImageRgb } from './image-io.js';
import { centerCrop, clipPreprocessImage, imageProcessorSteps, intSizeRule, resizeAndCrop } from './image-processor.js';
import reference from './reference/clip-preprocess.json' with { type: 'json' };

const input = (name: string) => readImageRgb(assetPath('test-data', 'clip', name));
const expected = (name: string) => readImageRgb(assetPath('test-data', 'clip', 'expected', name));
const configs = reference.configs as Record<string, Record<string, unknown>>;
const floats = (b64: string) => {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

test("CLIP preprocessing equals transformers' CLIPImageProcessor on PIL-made references (resize + crop, int and dict size)", async () => {
  for (const c of reference.cases) {
    const image = await input(c.image);
    const steps = imageProcessorSteps(configs[c.config]!, { intSize: 'shortest-edge' });
    const cropped = resizeAndCrop(image, steps);
    const want = await expected('expected' in c ? c.expected! : reference.cases.find((r) => r.image === c.image && r.config === c.same_as)!.expected!);
    const { mean, max } = imageDifference(cropped, want);
    assert.ok(mean <= 0.5 && max <= 2, `${c.image} ${c.config}: mean ${mean}, max ${max}`);
    assert.equal(max, 0, `${c.image} ${c.config}: Pillow's arithmetic, so identical`);
    const { data, dims } = clipPreprocessImage(image, configs[c.config]!);
    assert.deepEqual(dims, [1, 3, c.height, c.width]);
    if ('pixel_values_float32_base64' in c) {
      const ref = floats(c.pixel_values_float32_base64!);
      assert.equal(data.length, ref.length);
      for (let i = 0; i < ref.length; i++) assert.equal(data[i], ref[i], `${c.image} ${c.config}: value ${i}`);
    }
  }
});

test('size and crop_size in their int and dict forms; int size means shortest edge only for CLIP-style processors', () => {
  const dict = imageProcessorSteps({ size: { shortest_edge: 224 }, crop_size: { height: 224, width: 224 } }, { intSize: 'shortest-edge' });
  const int = imageProcessorSteps({ size: 224, crop_size: 224 }, { intSize: 'shortest-edge' });
  assert.deepEqual(int, dict);
  assert.deepEqual(dict.resize, { shortestEdge: 224 });
  assert.equal(dict.filter, 'bicubic');
  assert.equal(intSizeRule({ image_processor_type: 'CLIPImageProcessor' }), 'shortest-edge');
  assert.equal(intSizeRule({ image_processor_type: 'BitImageProcessor' }), 'shortest-edge');
  assert.equal(intSizeRule({ feature_extractor_type: 'ViTFeatureExtractor' }), 'square');
  // DINO v1's config (ViTFeatureExtractor): size 224 is 224 x 224, bilinear, no crop.
  const vit = imageProcessorSteps({
    feature_extractor_type: 'ViTFeatureExtractor',
    size: 224,
    resample: 2,
    image_mean: [0.485, 0.456, 0.406],
    image_std: [0.229, 0.224, 0.225],
  });
  assert.deepEqual(vit.resize, { width: 224, height: 224 });
  assert.equal(vit.filter, 'bilinear');
  assert.equal(vit.crop, undefined);
  // Missing fields take CLIPImageProcessor's defaults.
  const defaults = imageProcessorSteps({}, { intSize: 'shortest-edge' });
  assert.deepEqual(defaults.resize, { shortestEdge: 224 });
  assert.deepEqual(defaults.crop, { width: 224, height: 224 });
  assert.equal(defaults.normalize!.mean[0], 0.48145466);
});

test('bad processor fields are refused with one line naming the file and the field', () => {
  const bad = (config: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(
      () => imageProcessorSteps(config, { source: 'clip/preprocessor_config.json' }),
      (e: unknown) => e instanceof PmgError && e.code === 'invalid-input' && pattern.test(e.message) && !e.message.includes('\n'),
    );
  bad(
    { size: { longest_edge: 300 } },
    /^clip\/preprocessor_config.json: size must be a positive integer, \{"shortest_edge": n\} or \{"height": h, "width": w\}, got \{"longest_edge":300\}$/,
  );
  bad({ size: 224, resample: 0 }, /resample must be a Pillow filter code.*got 0$/);
  bad({ size: 224, crop_size: 'x', do_center_crop: true }, /crop_size must be/);
  bad({ size: 224, image_mean: [0.5, 0.5] }, /image_mean must be a number or a list of 3 numbers/);
});

test('center crop pads with zeros when the image is smaller (transformers), else takes the middle', () => {
  const image = { width: 3, height: 1, data: Uint8Array.of(1, 1, 1, 2, 2, 2, 3, 3, 3) };
  // 3x1 into 2x3: pad to 3x3 (top pad 1), then crop top = 0 + 1 - ..., left = floor(1/2) = 0.
  const out = centerCrop(image, 2, 3);
  assert.deepEqual([...out.data], [0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 0, 0, 0]);
  const middle = centerCrop({ width: 4, height: 1, data: Uint8Array.of(1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4) }, 2, 1);
  assert.deepEqual([...middle.data], [2, 2, 2, 3, 3, 3]);
});

test('the package root exports clipPreprocessImage(image, processorConfig) -> { data, dims }', async () => {
  const root = await import('../index.js');
  assert.equal(root.clipPreprocessImage, clipPreprocessImage);
  const out = root.clipPreprocessImage({ width: 2, height: 2, data: new Uint8Array(12).fill(255) }, { size: 2, crop_size: 2, image_mean: 0.5, image_std: 0.5 });
  assert.deepEqual(out.dims, [1, 3, 2, 2]);
  assert.ok(out.data instanceof Float32Array && out.data.every((v) => v === 1));
});
