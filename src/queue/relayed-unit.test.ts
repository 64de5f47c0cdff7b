import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PersonalizeModels } from '../providers/model-set.js';
import { UnitRefused, type GenerationUnit } from './generation-unit.js';
import { runQueueUnit, type Txt2ImgUnit } from './relayed-unit.js';

// A worker refuses before it touches a model, so these models are never used.
const noModels = {} as PersonalizeModels;
const runner = { worker: 'host:1', fingerprint: 'mf-aaaa' };
const txt2img: Txt2ImgUnit = { kind: 'txt2img', job: { prompt: 'a cube', steps: 2, width: 64, height: 64 } as Txt2ImgUnit['job'], relay: { previewEvery: 1 } };
const generation = { scene: 'movie', history: { items: [{ title: 'Heat' }] }, target: { item: { title: 'Up' } } } as GenerationUnit;

describe('runQueueUnit: a worker runs only the units of its models', () => {
  for (const [kind, unit] of [
    ['txt2img', txt2img],
    ['generation', generation],
  ] as const) {
    it(`a ${kind} unit enqueued for other models is refused, naming both fingerprints`, async () => {
      await assert.rejects(
        runQueueUnit(noModels, { ...unit, fingerprint: 'mf-bbbb' }, () => undefined, runner),
        (error: unknown) => {
          assert.ok(error instanceof UnitRefused);
          assert.match((error as Error).message, /worker host:1 has models mf-aaaa, the run needs mf-bbbb/);
          return true;
        },
      );
    });
  }

  it('a txt2img unit on a worker without a local Stable Diffusion model (--generator) fails in one line', async () => {
    await assert.rejects(
      runQueueUnit(noModels, { ...txt2img, fingerprint: 'mf-aaaa' }, () => undefined, runner),
      /txt2img jobs need a worker with a local Stable Diffusion model/,
    );
  });
});
