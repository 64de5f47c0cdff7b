/**
 * A real `pmg serve` for tests: fixture models written once per process, the real job engine (openJobService) on a
 * temporary data folder, the Hono app, and a socket on 127.0.0.1 (any free port), with small JSON clients.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtures } from '../fixtures/write-fixtures.js';
import { createApp, type AppOptions } from '../serve/app.js';
import { listen } from '../serve/server.js';
import { openJobService } from '../service/job-service.js';
import type { JobService, JobServiceOptions } from '../service/job-types.js';
export { readEvents } from '../serve/sse-client.js';

let fixtures: Promise<string> | undefined;

/** The fixture models folder (llm/, clip/, sd/, taesd/), written once per process; removed at exit. */
export function serveFixtureModels(): Promise<string> {
  fixtures ??= (async () => {
    const root = mkdtempSync(join(tmpdir(), 'pmg-serve-fx-'));
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
    await writeFixtures(join(root, 'fx'), {
      only: ['llm', 'clip', 'sd', 'taesd'],
    });
    return join(root, 'fx');
  })();
  return fixtures;
}

/** A tiny job on the fixture models (4 steps at 64 px, two candidates). */
export const tinyJob = {
  scene: 'movie',
  history: [{ title: 'Alien', genres: ['Horror'] }, { title: 'Heat' }],
  target: { title: 'Up' },
  steps: 4,
  width: 64,
  height: 64,
};

export interface ServeFixture {
  url: string;
  service: JobService;
  dataDir: string;
  /** fetch on the server's URL. */
  call(path: string, init?: RequestInit): Promise<Response>;
  /** POST JSON. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export interface ServeFixtureOptions {
  service?: Partial<Omit<JobServiceOptions, 'dataDir' | 'models' | 'env'>>;
  app?: Partial<Omit<AppOptions, 'service' | 'dataDir'>>;
  /** Reuse a data folder (restart tests); default: a new temporary one, removed by close(). */
  dataDir?: string;
}

export async function startServeFixture(options: ServeFixtureOptions = {}): Promise<ServeFixture> {
  const models = await serveFixtureModels();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'pmg-serve-data-'));
  const service = await openJobService({
    dataDir,
    models,
    env: { PMG_CACHE_DIR: join(dataDir, 'cache') },
    offline: true,
    ...options.service,
  });
  const app = createApp({
    service,
    dataDir,
    log: () => undefined,
    ...options.app,
  });
  const server = await listen(app, '127.0.0.1', 0);
  const call = (path: string, init?: RequestInit): Promise<Response> => fetch(`${server.url}${path}`, init);
  return {
    url: server.url,
    service,
    dataDir,
    call,
    post: (path, body, headers = {}) =>
      call(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    async close() {
      await server.close();
      await service.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The API's error body of a response, with its status; fails the test if the body carries a stack. */
export async function errorOf(response: Response): Promise<{ status: number; code: string; message: string; field?: string }> {
  const body = (await response.json()) as { error: { code: string; message: string; field?: string } };
  if ('stack' in body.error) throw new Error(`an error body carries a stack: ${JSON.stringify(body)}`);
  return { status: response.status, ...body.error };
}
