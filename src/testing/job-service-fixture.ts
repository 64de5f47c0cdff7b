/**
 * Tiny fixture models (llm/, clip/, sd/, llm-body/, soft/, and captioner/ when asked) in a temporary folder, and a
 * job service opened on them with a data folder of its own, for the service's tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtures } from '../fixtures/write-fixtures.js';
import { openJobService, type JobServiceInternals } from '../service/job-service.js';
import type { JobService, JobServiceOptions } from '../service/job-types.js';

export interface JobServiceFixture {
  root: string;
  /** The models folder. */
  models: string;
  env: NodeJS.ProcessEnv;
  /** A service on a fresh (or the named) data folder under root. */
  open(options?: Partial<JobServiceOptions> & { data?: string }, internals?: JobServiceInternals): Promise<JobService>;
  /** Close every service opened and remove the folder. */
  close(): Promise<void>;
}

export async function jobServiceFixture(prefix: string, options: { captioner?: boolean } = {}): Promise<JobServiceFixture> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const models = join(root, 'fx');
  await writeFixtures(models, { only: ['llm', 'clip', 'sd', 'llm-body', 'soft', ...(options.captioner ? ['captioner'] : [])] });
  const env = { PMG_CACHE_DIR: join(root, 'cache'), PMG_OFFLINE: '1' };
  const opened: JobService[] = [];
  let count = 0;
  return {
    root,
    models,
    env,
    async open(given = {}, internals = {}) {
      const { data, ...rest } = given;
      const service = await openJobService({ dataDir: join(root, data ?? `data-${count++}`), models, env, offline: true, ...rest }, internals);
      opened.push(service);
      return service;
    },
    async close() {
      for (const service of opened) await service.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A small movie job on the fixtures (3 steps, 64x64, two candidates). */
export function smallMovieJob(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    scene: 'movie',
    history: {
      items: [
        { title: 'Blade Runner (1982)', genres: ['Sci-Fi'] },
        { title: 'Amelie (2001)', genres: ['Comedy'] },
      ],
    },
    target: { item: { title: 'Solaris (1972)', genres: ['Drama', 'Sci-Fi'] } },
    steps: 3,
    width: 64,
    height: 64,
    ...extra,
  };
}
