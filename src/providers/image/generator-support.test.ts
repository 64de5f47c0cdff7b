import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PmgError } from '../../errors/pmg-error.js';
import type { ImageGeneratorCapabilities } from '../../spec/image-generator.js';
import { checkGeneratorSupports } from './generator-support.js';

/** A generator that can do little, as a remote text-to-image server. */
const remote = {
  id: 'a1111:http://127.0.0.1:7860',
  capabilities: {
    conditioning: ['repeat'],
    previews: false,
    earlySearch: false,
    negative: true,
    latents: false,
    schedulers: ['euler', 'dpm-solver++'],
    decoders: ['vae'],
  } satisfies ImageGeneratorCapabilities,
};

const refused = (field: string, words: RegExp) => (error: unknown) =>
  error instanceof PmgError &&
  error.code === 'invalid-argument' &&
  !error.message.includes('\n') &&
  error.message.startsWith(`${field}: the image generator ${remote.id} cannot `) &&
  words.test(error.message) &&
  (error.details as { field?: string }).field === field;

test('each need the capabilities deny is one line naming the field, the generator and what to do instead', () => {
  assert.throws(() => checkGeneratorSupports(remote, { conditioning: 'embed' }), refused('mode', /embed mode; use repeat$/));
  assert.throws(() => checkGeneratorSupports(remote, { conditioning: 'repeat', softTokens: true }), refused('soft', /soft preference tokens/));
  assert.throws(() => checkGeneratorSupports(remote, { conditioning: 'repeat', earlySearch: true }), refused('search', /use the exhaustive search$/));
  assert.throws(() => checkGeneratorSupports(remote, { conditioning: 'repeat', latents: true }), refused('latents', /given latents/));
  assert.throws(
    () => checkGeneratorSupports(remote, { conditioning: 'repeat', scheduler: 'DDIMScheduler' }),
    refused('scheduler', /run the ddim scheduler; use one of euler, dpm-solver\+\+$/),
  );
  assert.throws(
    () => checkGeneratorSupports(remote, { conditioning: 'repeat', finalDecoder: 'tiny' }),
    refused('finalDecoder', /needs a tiny autoencoder decoder/),
  );
});

test("what it can do passes, and an unknown scheduler is the scheduler list's own error", () => {
  checkGeneratorSupports(remote, { conditioning: 'repeat', negative: true, scheduler: 'euler', finalDecoder: 'vae', earlySearch: false, softTokens: false });
  assert.throws(() => checkGeneratorSupports(remote, { conditioning: 'repeat', scheduler: 'nope' }), /unknown scheduler 'nope'/);
});
