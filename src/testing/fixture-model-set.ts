/**
 * The tiny fixture models (llm/, clip/, sd/, and taesd/ with `decoder: true`) written into a temporary folder and
 * loaded as a ModelSet, for tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtures } from '../fixtures/write-fixtures.js';
import { loadModelSet, type ModelSet } from '../providers/model-set.js';
import { ModelStore, modelStoreOptionsFromEnv } from '../runtime/model-store.js';

export interface FixtureModelSet {
  /** The temporary folder (fixtures under fx/). */
  root: string;
  models: ModelSet;
  /** Close the models and remove the folder. */
  close(): Promise<void>;
}

export async function fixtureModelSet(prefix: string, options: { decoder?: boolean } = {}): Promise<FixtureModelSet> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  await writeFixtures(join(root, 'fx'), { only: ['llm', 'clip', 'sd', ...(options.decoder ? ['taesd'] : [])] });
  const store = new ModelStore(modelStoreOptionsFromEnv({ PMG_CACHE_DIR: join(root, 'cache') }, { offline: true, cwd: root }));
  const models = await loadModelSet({ models: 'fx' }, { store, env: {}, offline: true });
  return {
    root,
    models,
    async close() {
      await models.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
