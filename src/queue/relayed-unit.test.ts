import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadModelSet, type PersonalizeModels } from '../providers/model-set.js';
import { ModelStore, modelStoreOptionsFromEnv } from '../runtime/model-store.js';
import { serveFixtureModels } from '../testing/serve-fixture.js';
import type { QueueProgress } from './job-queue.js';
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

describe('runQueueUnit: progress messages in the order the run made them (fixture models)', () => {
  let close: (() => Promise<void>) | undefined;
  after(() => close?.());

  it("a txt2img unit reports each step, then that step's previews, before the next step", async () => {
    const dir = await serveFixtureModels();
    const env = { PMG_CACHE_DIR: join(dir, '..', 'relay-cache') };
    const store = new ModelStore(modelStoreOptionsFromEnv(env, { offline: true, cwd: dir }));
    const models = await loadModelSet({ models: dir }, { store, env, offline: true });
    close = () => models.close();
    const messages: QueueProgress[] = [];
    await runQueueUnit(models, { ...txt2img, job: { ...txt2img.job, steps: 4 } }, (progress) => messages.push(progress));
    const seen = messages.map((m) => `${m.step}${m.previews ? 'p' : ''}`);
    // Every step's own message first; its preview (steps 1-3: the last step's image is the result) right after it.
    assert.deepEqual(
      seen.filter((s) => s !== '0'),
      ['1', '1p', '2', '2p', '3', '3p', '4'],
    );
  });
});
