/**
 * `pmg bench queue` (issue 14 §3): what the BullMQ queue costs. On fixture models, with its own redis-server on a
 * loopback port (persistence off):
 * (a) per job: the same generation unit run in this process (runGenerationUnit, its result encoded and decoded as a
 *     worker's is) and through BullJobQueue with a worker in this process (startQueueWorker): the difference is the
 *     queue's own cost — Redis round trips, the unit and the base64 PNGs as JSON (an eval's unit reports no steps). Every
 *     run has its own key, so idempotency never short-cuts one.
 * (b) throughput: M units through 1, then 2 spawned `pmg worker` processes (jobs per minute, enqueue to last result).
 *     The workers are CPU-bound: on a machine with few cores two workers share them, so they cannot double it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../core/package-root.js';
import { PmgError } from '../errors/pmg-error.js';
import { writeTinySd } from '../fixtures/tiny-sd.js';
import { writeFixtures } from '../fixtures/write-fixtures.js';
import { loadModelSet } from '../providers/model-set.js';
import { BullJobQueue, startQueueWorker } from '../queue/bullmq-queue.js';
import type { PersonalizeRequest } from '../personalize/personalize-request.js';
import { decodeResult, generationUnit, runGenerationUnit, unitKey, type GenerationUnit, type WireResult } from '../queue/generation-unit.js';
import { parseQueueUrl } from '../queue/queue-url.js';
import { ModelStore, modelStoreOptionsFromEnv } from '../runtime/model-store.js';
import { formatMachine, machineInfo, type MachineInfo } from './machine.js';
import { median } from './median.js';

export interface QueueBenchOptions {
  /** Timed units per path (medians). */
  jobs: number;
  /** Units per throughput run. */
  units: number;
  steps: number;
  size: number;
  /** Width of the fixture UNet (1: the tiny test model; 8: one call takes tens of ms). */
  unetScale: number;
}

export const QUEUE_BENCH_DEFAULTS: QueueBenchOptions = { jobs: 10, units: 12, steps: 8, size: 64, unetScale: 8 };

export interface Throughput {
  workers: number;
  units: number;
  ms: number;
  jobsPerMinute: number;
}

export interface QueueBenchResult {
  options: QueueBenchOptions;
  machine: MachineInfo;
  /** Median ms of one unit run in this process. */
  inProcessMs: number;
  /** Median ms of the same unit through the queue (enqueue to decoded result) with a worker in this process. */
  queuedMs: number;
  /** The median of the rounds' paired differences (queued − in process, each round runs both back to back). */
  overheadMs: number;
  /** overheadMs / inProcessMs. */
  overhead: number;
  throughput: Throughput[];
}

/** Untimed runs per path first: onnxruntime's sessions, V8 and the Redis connections take a few runs to settle. */
const WARM_UP = 2;

export async function benchQueue(options: QueueBenchOptions, log: (line: string) => void = () => undefined): Promise<QueueBenchResult> {
  const { redisSkip, startRedis } = await import('../testing/redis-server.js');
  if (redisSkip) throw new PmgError('unsupported', `pmg bench queue starts its own Redis, but ${redisSkip}`);
  const root = mkdtempSync(join(tmpdir(), 'pmg-bench-queue-'));
  const env = { PMG_CACHE_DIR: join(root, 'cache') };
  const redis = await startRedis();
  const target = parseQueueUrl(redis.url, {});
  if (target.kind !== 'redis') throw new PmgError('internal', 'startRedis gave no redis:// URL');
  try {
    log(`writing fixture models; redis-server on ${redis.url}`);
    const fx = join(root, 'fx');
    await writeFixtures(fx, { only: ['llm', 'clip'] });
    writeTinySd(join(fx, 'sd'), { unetScale: options.unetScale });
    const store = new ModelStore(modelStoreOptionsFromEnv(env, { offline: true, cwd: root }));
    const models = await loadModelSet({ models: fx }, { store, env, offline: true });
    const queue = await BullJobQueue.open<GenerationUnit, WireResult>(target, 'pmg-bench', { retry: { attempts: 1 } });
    const worker = await startQueueWorker<GenerationUnit, WireResult>(target, (unit) => runGenerationUnit(models, unit), {}, 'pmg-bench');
    const request: PersonalizeRequest = {
      scene: 'movie',
      history: { items: [{ title: 'Alien', genres: ['Horror'] }, { title: 'Heat' }] },
      target: { item: { title: 'Up' } },
      method: 'pmg',
      alpha: 0.5,
      seed: 0,
      steps: options.steps,
      width: options.size,
      height: options.size,
    };
    let unit: GenerationUnit = generationUnit(request);
    const inProcess: number[] = [];
    const queued: number[] = [];
    let key = 0;
    try {
      // The keywords once, then carried by the unit (as pmg eval does after a sample's first method): generation only.
      const first = decodeResult(await runGenerationUnit(models, unit));
      unit = { ...unit, keywords: JSON.parse(JSON.stringify({ ...first.keywords, scene: request.scene })) as GenerationUnit['keywords'] };
      log(`timing ${WARM_UP} + ${options.jobs} rounds of two paths`);
      // Round-robin, so that both paths see the same machine (other processes come and go).
      for (let round = 0; round < WARM_UP + options.jobs; round++) {
        const timed = round >= WARM_UP;
        const t0 = performance.now();
        decodeResult(await runGenerationUnit(models, unit));
        const t1 = performance.now();
        decodeResult(await queue.run(unitKey(`bench-${process.pid}`, 'sample', String(key++), unit), unit));
        const t2 = performance.now();
        if (timed) {
          inProcess.push(t1 - t0);
          queued.push(t2 - t1);
        }
      }
      log(`in process ${median(inProcess).toFixed(1)} ms, queued ${median(queued).toFixed(1)} ms`);
    } finally {
      await worker.close();
      await queue.close();
      await models.close();
    }
    // The spawned workers take pmg's own queue (pmg-generation), as they do for pmg eval --queue.
    const generation = await BullJobQueue.open<GenerationUnit, WireResult>(target, undefined, { retry: { attempts: 1 } });
    const throughput: Throughput[] = [];
    try {
      for (const count of [1, 2]) {
        log(`throughput: ${options.units} units, ${count} pmg worker process(es)`);
        const workers = await Promise.all(Array.from({ length: count }, () => spawnWorker(redis.url, root, env)));
        try {
          const t0 = performance.now();
          await Promise.all(
            Array.from({ length: options.units }, () => generation.run(unitKey(`bench-${process.pid}`, 'throughput', String(key++), unit), unit)),
          );
          const ms = performance.now() - t0;
          throughput.push({ workers: count, units: options.units, ms, jobsPerMinute: (options.units * 60_000) / ms });
        } finally {
          await Promise.all(workers.map(stopWorker));
        }
      }
    } finally {
      await generation.close();
    }
    const inProcessMs = median(inProcess);
    const queuedMs = median(queued);
    // Paired by round, so the machine's drift between rounds cancels (a difference of medians wanders by more).
    const overheadMs = median(queued.map((q, i) => q - inProcess[i]!));
    return {
      options,
      machine: machineInfo(),
      inProcessMs,
      queuedMs,
      overheadMs,
      overhead: overheadMs / inProcessMs,
      throughput,
    };
  } finally {
    await redis.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** A `pmg worker` process on the bench's queue and models, resolved once it says it is ready. */
async function spawnWorker(url: string, cwd: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'pmg.js'), 'worker', '--queue', url, '--models', 'fx'], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PMG_OFFLINE: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk) => {
      text += String(chunk);
      if (text.includes('ready on')) resolve();
    });
    child.once('exit', (code) => reject(new PmgError('internal', `a pmg worker exited (${code}) before it was ready: ${text.trim().split('\n').at(-1)}`)));
  });
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export function formatQueueBench(result: QueueBenchResult, command: string): string {
  const ms = (v: number): string => `${v.toFixed(2)} ms`;
  const o = result.options;
  const cores = result.machine.cores;
  return [
    `command: ${command}`,
    `machine: ${formatMachine(result.machine)}`,
    `unit: fixture models (UNet scale ${o.unetScale}), ${o.steps} steps at ${o.size}x${o.size}, method pmg (three candidates), keywords given; redis-server on loopback, persistence off`,
    `(a) per job, ${o.jobs} timed units per path (medians):`,
    `  in process (runGenerationUnit)          ${ms(result.inProcessMs)}`,
    `  through the queue (worker in-process)   ${ms(result.queuedMs)}`,
    `  ${'queue cost per job (paired median)'.padEnd(40)}${ms(result.overheadMs)} = ${(result.overhead * 100).toFixed(2)}% of a fixture generation (goal <= 2%)`,
    `  the cost is a fixed time per job (Redis round trips, the unit and the PNGs as JSON), not a share: it is <= 2% of a generation of ${(Math.max(result.overheadMs, 0) / 0.02).toFixed(0)} ms or longer`,
    `(b) throughput, ${o.units} units, enqueue to last result, spawned pmg worker processes (concurrency 1 each):`,
    ...result.throughput.map((t) => `  ${t.workers} worker(s)  ${t.jobsPerMinute.toFixed(1).padStart(8)} jobs/min  (${(t.ms / 1000).toFixed(2)} s)`),
    `  the workers are CPU-bound: on this ${cores}-core machine ${cores <= 2 ? 'two workers compete for the same cores (and with onnxruntime threads), so they cannot double it' : 'each worker still runs multi-threaded onnxruntime, so two do not double it unless the cores are free'}`,
    '',
  ].join('\n');
}
