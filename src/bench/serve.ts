/**
 * `pmg bench serve` (issue 13 §4): what serving costs. On fixture models, in one process: the same generation job
 * run directly (`personalize` and the result folder, as `pmg generate` does; models loaded once, keyword cache warm) and through the
 * server (POST /v1/generations, then its SSE stream to `done`, over loopback HTTP); the latency of
 * GET /v1/generations/{id} while idle and while a job runs; and the latency of SSE events (the engine's emit to the
 * client's read). The serving overhead includes what only the server does: storing the job and its events in SQLite
 * and, for a followed job, writing a preview PNG per candidate and step (a job nobody follows makes none).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinySd } from '../fixtures/tiny-sd.js';
import { writeFixtures } from '../fixtures/write-fixtures.js';
import { checkGenerationJob } from '../jobs/generation-job.js';
import { jobToPersonalizeRequest } from '../jobs/job-request.js';
import { defaultCacheDatabasePath } from '../personalize/cache-database.js';
import { openKeywordCache } from '../personalize/keyword-cache.js';
import { loadModelSet } from '../providers/model-set.js';
import { personalize } from '../personalize/personalize.js';
import { writePreviewFiles } from '../pipeline/preview-files.js';
import type { StepPreview } from '../pipeline/step-preview.js';
import { writeResultFolder } from '../personalize/result-files.js';
import { ModelStore, modelStoreOptionsFromEnv } from '../runtime/model-store.js';
import { createApp } from '../serve/app.js';
import { listen } from '../serve/server.js';
import { readEvents } from '../serve/sse-client.js';
import { openJobService } from '../service/job-service.js';
import { formatMachine, machineInfo, type MachineInfo } from './machine.js';
import { median } from './median.js';
import { quantile } from './quantile.js';

export interface ServeBenchOptions {
  /** Timed jobs per path (medians). */
  jobs: number;
  steps: number;
  size: number;
  /** GET /v1/generations/{id} calls per phase. */
  statusCalls: number;
  /** Width of the fixture UNet (1: the tiny test model; 8: one call takes tens of ms, as in pmg bench search). */
  unetScale: number;
}

export const SERVE_BENCH_DEFAULTS: ServeBenchOptions = {
  jobs: 5,
  steps: 8,
  size: 64,
  statusCalls: 200,
  unetScale: 8,
};

export interface Latency {
  p50: number;
  p99: number;
  n: number;
}

export interface ServeBenchResult {
  options: ServeBenchOptions;
  machine: MachineInfo;
  /** Median ms of one job: directly, and through the server (submit to the `done` event read by the client). */
  directMs: number;
  /** The same with live previews written at every step (`pmg generate --previews DIR`), as the server does for a followed job. */
  directPreviewsMs: number;
  /** Served and followed over SSE (previews made): POST to the `done` event read by the client. */
  servedMs: number;
  /** Served with nobody following (no previews): POST to the finished record read by the client. */
  servedUnwatchedMs: number;
  /** servedUnwatchedMs / directMs − 1: the cost of serving relative to pmg generate for the same work. */
  overhead: number;
  /** servedMs / directPreviewsMs − 1: the same for a followed job, relative to pmg generate --previews. */
  overheadFollowed: number;
  statusIdleMs: Latency;
  statusBusyMs: Latency;
  sseMs: Latency;
}

/** Untimed jobs per path first: onnxruntime's sessions and V8 take a few runs to settle (fresh sessions in the server). */
const WARM_UP = 3;

const latency = (values: number[]): Latency => ({
  p50: quantile(values, 0.5),
  p99: quantile(values, 0.99),
  n: values.length,
});

export async function benchServe(options: ServeBenchOptions, log: (line: string) => void = () => undefined): Promise<ServeBenchResult> {
  const root = mkdtempSync(join(tmpdir(), 'pmg-bench-serve-'));
  const env = { PMG_CACHE_DIR: join(root, 'cache') };
  const job = {
    scene: 'movie',
    history: [{ title: 'Alien', genres: ['Horror'] }, { title: 'Heat' }],
    target: { title: 'Up' },
    steps: options.steps,
    width: options.size,
    height: options.size,
  };
  try {
    log('writing fixture models');
    const fx = join(root, 'fx');
    await writeFixtures(fx, { only: ['llm', 'clip', 'taesd'] });
    writeTinySd(join(fx, 'sd'), { unetScale: options.unetScale });

    // Both sides load the same models once: pmg generate's model set, and the server's (its own, as a server has).
    const store = new ModelStore(modelStoreOptionsFromEnv(env, { offline: true, cwd: root }));
    const models = await loadModelSet({ models: fx }, { store, env, offline: true });
    const cache = openKeywordCache(defaultCacheDatabasePath(env));
    const dataDir = join(root, 'serve');
    const service = await openJobService({ dataDir, models: fx, env, offline: true });
    const server = await listen(createApp({ service, dataDir, log: () => undefined }), '127.0.0.1', 0);
    mkdirSync(join(root, 'direct'));
    const checked = checkGenerationJob(job);
    // pmg generate --previews DIR: each step's x0 previews decoded and written as PNGs, as the server does for a followed job.
    const writePreviews = async (preview: StepPreview): Promise<void> => void (await writePreviewFiles(join(root, 'previews'), preview));
    let runs = 0;
    const runDirect = async (previews: boolean): Promise<void> => {
      const request = jobToPersonalizeRequest(checked, { keywordOptions: { cache }, ...(previews ? { onPreview: writePreviews, previewEvery: 1 } : {}) });
      const result = await personalize(models, request);
      await writeResultFolder(join(root, 'direct', String(runs++)), result, { models: models.ids });
    };
    const submit = async (body: unknown): Promise<string> => {
      const response = await fetch(`${server.url}/v1/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (response.status !== 202) throw new Error(`the server answered ${response.status}: ${await response.text()}`);
      return ((await response.json()) as { id: string }).id;
    };
    // Nobody follows the job: the server skips its previews. Its end is seen in-process (waiting is not watching),
    // then the client reads the finished record.
    const runServed = async (): Promise<void> => {
      const id = await submit(job);
      await service.wait(id);
      await (await fetch(`${server.url}/v1/generations/${id}`)).arrayBuffer();
    };
    const sse: number[] = [];
    let last = '';
    const runFollowed = async (timed: boolean): Promise<void> => {
      const id = await submit(job);
      const emitted = new Map<number, number>();
      const unsubscribe = service.subscribe(id, (event) => emitted.set(event.id, performance.now()));
      const { events } = await readEvents(await fetch(`${server.url}/v1/generations/${id}/events`));
      unsubscribe();
      if (events.at(-1)?.type !== 'done') throw new Error(`job ${id} ended with ${events.at(-1)?.type}`);
      if (!timed) return;
      for (const event of events) {
        const at = emitted.get(event.id);
        if (at !== undefined) sse.push(event.receivedAt - at);
      }
      last = id;
    };
    const direct: number[] = [];
    const directPreviews: number[] = [];
    const served: number[] = [];
    const servedUnwatched: number[] = [];
    const statusIdle: number[] = [];
    const statusBusy: number[] = [];
    const status = async (id: string, into: number[]): Promise<void> => {
      const t0 = performance.now();
      await (await fetch(`${server.url}/v1/generations/${id}`)).arrayBuffer();
      into.push(performance.now() - t0);
    };
    try {
      // Round-robin, so that every path sees the same machine (other processes come and go).
      log(`timing ${WARM_UP} + ${options.jobs} rounds of four paths`);
      for (let round = 0; round < WARM_UP + options.jobs; round++) {
        const timed = round >= WARM_UP;
        const paths: [number[], () => Promise<void>][] = [
          [direct, () => runDirect(false)],
          [directPreviews, () => runDirect(true)],
          [servedUnwatched, runServed],
          [served, () => runFollowed(timed)],
        ];
        for (const [into, run] of paths) {
          const t0 = performance.now();
          await run();
          if (timed) into.push(performance.now() - t0);
        }
      }
      log(
        `direct ${median(direct).toFixed(1)} ms, with previews ${median(directPreviews).toFixed(1)} ms; served ${median(servedUnwatched).toFixed(1)} ms, followed ${median(served).toFixed(1)} ms`,
      );
      for (let i = 0; i < options.statusCalls; i++) await status(last, statusIdle);
      const busy = await submit({ ...job, steps: Math.max(options.steps * 8, 50) });
      for (let i = 0; i < options.statusCalls && service.get(busy)?.state !== 'done'; i++) await status(busy, statusBusy);
      await service.wait(busy);
    } finally {
      await server.close();
      await service.close();
      cache.close();
      await models.close();
    }
    const directMs = median(direct);
    const directPreviewsMs = median(directPreviews);
    const servedMs = median(served);
    const servedUnwatchedMs = median(servedUnwatched);
    return {
      options,
      machine: machineInfo(),
      directMs,
      directPreviewsMs,
      servedMs,
      servedUnwatchedMs,
      overhead: servedUnwatchedMs / directMs - 1,
      overheadFollowed: servedMs / directPreviewsMs - 1,
      statusIdleMs: latency(statusIdle),
      statusBusyMs: latency(statusBusy),
      sseMs: latency(sse),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function formatServeBench(result: ServeBenchResult, command: string): string {
  const ms = (v: number): string => `${v.toFixed(2)} ms`;
  const pct = (v: number): string => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;
  const row = (name: string, l: Latency): string => `${name.padEnd(34)} p50 ${ms(l.p50).padStart(10)}  p99 ${ms(l.p99).padStart(10)}  (${l.n} calls)`;
  const o = result.options;
  return [
    `command: ${command}`,
    `machine: ${formatMachine(result.machine)}`,
    `job: fixture models (UNet scale ${o.unetScale}, tiny decoder for previews), ${o.steps} steps at ${o.size}x${o.size}, two candidates; ${o.jobs} timed jobs per path (medians)`,
    `direct (as pmg generate)                ${ms(result.directMs)}`,
    `direct with live previews (--previews)  ${ms(result.directPreviewsMs)}`,
    `served, nobody following (no previews)  ${ms(result.servedUnwatchedMs)}`,
    `served, followed over SSE (previews)    ${ms(result.servedMs)}`,
    `serving vs pmg generate                 ${pct(result.overhead)} (goal <= 5%; ${ms(result.servedUnwatchedMs - result.directMs)} per job)`,
    `followed vs pmg generate --previews     ${pct(result.overheadFollowed)} (goal <= 5%; ${ms(result.servedMs - result.directPreviewsMs)} per job)`,
    row('GET /v1/generations/{id}, idle', result.statusIdleMs),
    row('GET /v1/generations/{id}, job runs', result.statusBusyMs),
    row('SSE event, emit to client read', result.sseMs),
    '',
  ].join('\n');
}
