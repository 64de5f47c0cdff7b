import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { textToImage } from '../../pipeline/text-to-image.js';
import { imageGeneratorContract } from '../../testing/image-generator-contract.js';
import { fixtureModelSet } from '../../testing/fixture-model-set.js';
import { OnnxImageGenerator } from './onnx-image-generator.js';

const fixture = await fixtureModelSet('pmg-onnx-generator-', { decoder: true });
after(() => fixture.close());
const { sd, decoder } = fixture.models;
const small = { width: 64, height: 64, steps: 3, guidance: 7.5 };

imageGeneratorContract({ name: 'onnx (with a tiny decoder)', create: async () => new OnnxImageGenerator({ sd, tiny: decoder! }), settings: small });
imageGeneratorContract({ name: 'onnx (VAE only)', create: async () => new OnnxImageGenerator({ sd }), settings: small });

test('the ONNX generator makes the pipeline textToImage images, bit for bit, and names its model', async () => {
  const generator = new OnnxImageGenerator({ sd, tiny: decoder!, finalDecoder: 'tiny' });
  assert.equal(generator.id, sd.id);
  assert.deepEqual(generator.capabilities.decoders, ['vae', 'tiny']);
  assert.equal(generator.capabilities.softTokens?.width, sd.textEncoder.hiddenSize);
  const candidates = [
    { prompt: 'a cat', negativePrompt: 'blurry' },
    {
      prompt: [
        { text: 'a dog', weight: 1 },
        { text: 'red', weight: 2 },
      ],
    },
  ];
  const generation = await generator.start({ ...small, candidates, seeds: [5, 5] });
  assert.equal(generation.decoders.final, 'tiny', "the generator's default final decoder");
  assert.equal(generation.decoders.preview, 'tiny');
  await generation.run();
  const ours = await generation.finish();
  const theirs = await textToImage(sd, {
    candidates,
    seeds: [5, 5],
    steps: 3,
    guidanceScale: 7.5,
    width: 64,
    height: 64,
    tinyDecoder: decoder!.decoder,
    finalDecoder: 'tiny',
  });
  assert.equal(ours.decoder, 'tiny');
  assert.deepEqual(ours.images.data, theirs.images.data);
  assert.deepEqual(generation.scheduler, theirs.scheduler);
});

test('without a tiny decoder the VAE makes the previews and the final images; asking for tiny is refused', async () => {
  const generator = new OnnxImageGenerator({ sd });
  const generation = await generator.start({ ...small, candidates: [{ prompt: 'a cat' }], seeds: [1] });
  assert.deepEqual(generation.decoders, { final: 'vae', preview: 'vae', previewScale: 2 });
  await assert.rejects(generator.start({ ...small, candidates: [{ prompt: 'a cat' }], seeds: [1], finalDecoder: 'tiny' }), /needs a tiny autoencoder decoder/);
});
