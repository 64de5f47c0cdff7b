import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import type { EvalConfig } from '../experiments/run-config.js';
import type { PersonalizeRequest } from '../personalize/personalize-request.js';
import { QueueJobFailed } from '../queue/job-queue.js';
import type { GenerationUnit, WireResult } from '../queue/generation-unit.js';
import { queuedGenerate, startFingerprint, type FingerprintStore } from './eval-queue-options.js';

function memoryStore(pinned?: string): FingerprintStore & { value?: string } {
  const store = {
    value: pinned,
    pinnedFingerprint: () => store.value,
    pinFingerprint: (fingerprint: string) => void (store.value = fingerprint),
  };
  return store;
}

/** A queue whose "workers" answer with the given fingerprints in turn, and which remembers the units it got. */
function fakeQueue(fingerprints: (string | undefined)[]) {
  const units: GenerationUnit[] = [];
  return {
    units,
    run: async (_key: string, unit: GenerationUnit): Promise<WireResult> => {
      units.push(unit);
      const fingerprint = fingerprints.shift();
      return { candidates: [], ...(fingerprint ? { fingerprint, worker: 'gpu-7:42' } : {}) } as unknown as WireResult;
    },
  };
}

const config = { methods: ['target-only'], alphas: [], metrics: [], seed: 0 } as unknown as EvalConfig;
const request = { scene: 'movie', history: [], target: { title: 'x' }, method: 'target-only' } as unknown as PersonalizeRequest;

describe('queuedGenerate: the run pinned to one model fingerprint', () => {
  it('pins the local fingerprint, sends it with every unit, and fails a result of other models naming both', async () => {
    const store = memoryStore();
    const queue = fakeQueue(['mf-a', 'mf-b']);
    const generate = queuedGenerate(queue, '/runs/x', config, store, 'mf-a');
    assert.equal(store.value, 'mf-a');
    const result = await generate('s1', 'target-only', request);
    assert.deepEqual(Object.keys(result).sort(), ['candidates']);
    await assert.rejects(
      generate('s2', 'target-only', request),
      (error: unknown) =>
        error instanceof QueueJobFailed &&
        error.reason === "worker gpu-7:42 returned results of models mf-b, the run's are mf-a; start the workers with the run's --models (and --generator)" &&
        error.attempts === 1,
    );
    assert.deepEqual(
      queue.units.map((u) => u.fingerprint),
      ['mf-a', 'mf-a'],
    );
  });

  it('without the models here, the first result pins the fingerprint (kept in the store) and later units carry it', async () => {
    const store = memoryStore();
    const queue = fakeQueue(['mf-w', 'mf-w', 'mf-z']);
    const generate = queuedGenerate(queue, '/runs/x', config, store);
    await generate('s1', 'target-only', request);
    assert.equal(store.value, 'mf-w');
    await generate('s2', 'target-only', request);
    await assert.rejects(generate('s3', 'target-only', request), QueueJobFailed);
    assert.deepEqual(
      queue.units.map((u) => u.fingerprint),
      [undefined, 'mf-w', 'mf-w'],
    );
  });

  it('a resumed run with other local models is refused in one line; the stored fingerprint is used when none is local', () => {
    assert.throws(
      () => startFingerprint(memoryStore('mf-old'), 'mf-new'),
      (error: unknown) =>
        error instanceof PmgError &&
        error.message ===
          "--models: the run in this --out was generated with models mf-old, these are mf-new; give the run's models, or another --out for a new run",
    );
    assert.equal(startFingerprint(memoryStore('mf-old'), undefined), 'mf-old');
    assert.equal(startFingerprint(memoryStore('mf-old'), 'mf-old'), 'mf-old');
  });
});
