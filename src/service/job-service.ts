/**
 * `openJobService`: the job engine behind `pmg serve` (docs/serve.md "The job engine"), wired from its parts —
 * the SQLite store (job-store.ts), events (job-events.ts), the queue (job-runner.ts), the job folders
 * (job-files.ts), restart recovery (job-recovery.ts), and the model registry (runtime/model-registry.ts) that loads
 * the model set once and shares it between jobs, with the soft modules' LLM bodies and the captioner. The models
 * load in the background after open (ready() says when); a bad --models folder or soft module fails open at once.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import type { GenerationJob } from '../jobs/generation-job.js';
import { extractKeywords } from '../personalize/extract-keywords.js';
import { openKeywordCache } from '../personalize/keyword-cache.js';
import { loadModelSet, resolveModelSpecs, type ModelSet, type ModelSetSpec } from '../providers/model-set.js';
import { personalizeMethods, type SoftRequest } from '../personalize/personalize-request.js';
import { loadPrompts } from '../personalize/prompts.js';
import { modelsFolderLlmBody } from '../personalize/soft-body.js';
import type { CaptionImage } from '../personalize/verbalize.js';
import { createCaptioner } from '../providers/captioner/onnx-captioner.js';
import { loadLlmBody } from '../runtime/llm-body.js';
import { ModelRegistry, type Closable, type Lease } from '../runtime/model-registry.js';
import { ModelStore, modelStoreOptions } from '../runtime/model-store.js';
import { cacheDatabaseFile, settingsOf } from '../settings/settings.js';
import { openSoftCache } from '../soft/soft-cache.js';
import { readSoftModule, type SoftModule } from '../soft/soft-module.js';
import { scenes } from '../spec/behaviour.js';
import type { LlmBody } from '../spec/llm-body.js';
import { runGenerationJob } from './generation-run.js';
import { JobEvents, FINAL_EVENTS } from './job-events.js';
import { JobFiles } from './job-files.js';
import { checkKeywordInput, checkServiceJob, keywordsRefusal, type InputRules } from './job-input.js';
import { recoverJobs } from './job-recovery.js';
import { JobRunner, type JobControl, type JobOutcome } from './job-runner.js';
import { openQueuedExecution, type QueuedExecution } from './queued-execution.js';
import { localFingerprint } from '../queue/model-fingerprint.js';
import { JOB_ID, JobStore, newJobId, type StoredJob } from './job-store.js';
import type { JobKind, JobRecord, JobService, JobServiceOptions, ServiceModels, Txt2ImgJob } from './job-types.js';
import { StepEvents } from './step-events.js';
import { finishTxt2Img, runTxt2ImgJob } from './txt2img-job.js';

export const DEFAULTS = { queueSize: 16, concurrency: 1, jobTimeoutMs: 15 * 60_000, maxAttempts: 2, listLimit: 20, maxListLimit: 200 } as const;

/** The models folder's captioner (image-to-text for history items that only have an image). */
export const FOLDER_CAPTIONER = 'captioner';

/** Test seams: a registry to inspect (load counts). */
export interface JobServiceInternals {
  registry?: ModelRegistry<Closable>;
}

export async function openJobService(options: JobServiceOptions, internals: JobServiceInternals = {}): Promise<JobService> {
  const warn = options.warn ?? (() => undefined);
  const queueSize = positive(options.queueSize ?? DEFAULTS.queueSize, 'queueSize', 0);
  const concurrency = positive(options.concurrency ?? DEFAULTS.concurrency, 'concurrency', 1);
  const jobTimeoutMs = positive(options.jobTimeoutMs ?? DEFAULTS.jobTimeoutMs, 'jobTimeoutMs', 1);
  const maxAttempts = positive(options.maxAttempts ?? DEFAULTS.maxAttempts, 'maxAttempts', 1);
  const cwd = process.cwd();
  const dataDir = resolve(cwd, options.dataDir);

  // Everything that can be checked without loading a model: the model spec, the soft modules, the captioner folder.
  const modelSpec: ModelSetSpec = { models: options.models };
  const resolvedSpec = resolveModelSpecs(modelSpec, cwd);
  const modelsDir = folderOf(resolve(cwd, options.models));
  const softModules = new Map<string, { module: SoftModule; body: string }>();
  if (options.queue && Object.keys(options.softModules ?? {}).length)
    throw new PmgError('invalid-argument', '--soft: the queue workers take no soft modules; drop --soft or --queue', { details: { field: '--soft' } });
  for (const [name, folder] of Object.entries(options.softModules ?? {})) {
    const module = readSoftModule(resolve(cwd, folder));
    const body = modelsFolderLlmBody(modelsDir);
    if (body === undefined) {
      throw new PmgError(
        'invalid-argument',
        `soft module '${name}' needs the LLM body it was made for (${module.config.llm.id}): give --models a folder with llm-body/`,
      );
    }
    softModules.set(name, { module, body });
  }
  const captionerDir = modelsDir && folderOf(join(modelsDir, FOLDER_CAPTIONER));

  const files = new JobFiles(dataDir);
  await files.open();
  const store = new JobStore(join(dataDir, 'pmg.sqlite'));
  const events = new JobEvents(store, warn);
  let queued: QueuedExecution | undefined;
  try {
    const fingerprint = options.queue && localFingerprint(modelSpec, cwd);
    queued = options.queue && (await openQueuedExecution(options.queue, { events, files, warn, ...(fingerprint ? { fingerprint } : {}) }));
  } catch (error) {
    store.close();
    throw error;
  }
  const registry = internals.registry ?? new ModelRegistry<Closable>({ maxIdle: 2, warn });
  const settings = settingsOf(options);
  const modelStore = new ModelStore(modelStoreOptions(settings, { cwd, ...(options.offline ? { offline: true } : {}) }));
  const cacheFile = cacheDatabaseFile(settings);
  const keywordCache = openKeywordCache(cacheFile);
  const softCache = softModules.size ? openSoftCache(cacheFile) : undefined;

  const modelKey = `models:${JSON.stringify(resolvedSpec)}`;
  const acquireModels = (): Promise<Lease<ModelSet>> =>
    registry.acquire(modelKey, () => loadModelSet(modelSpec, { store: modelStore, settings, offline: options.offline ?? false, warn })) as Promise<
      Lease<ModelSet>
    >;
  const acquireBody = (spec: string): Promise<Lease<LlmBody & Closable>> =>
    registry.acquire(`llm-body:${spec}`, async () => {
      const body = await loadLlmBody(spec, { store: modelStore });
      const close = body.close?.bind(body);
      return Object.assign(body, { close: async () => void (await close?.()) });
    }) as Promise<Lease<LlmBody & Closable>>;
  const acquireCaptioner = (): Promise<Lease<{ caption: CaptionImage } & Closable>> =>
    registry.acquire(`captioner:${captionerDir}`, async () => {
      const captioner = await createCaptioner(`onnx:${captionerDir}`, { store: modelStore, settings, ...(options.offline ? { offline: true } : {}) });
      return { caption: captioner, close: async () => void (await captioner.close?.()) };
    }) as Promise<Lease<{ caption: CaptionImage } & Closable>>;

  const rules: InputRules = { softNames: [...softModules.keys()], files, captioner: captionerDir !== undefined, ...(queued ? { queued: true } : {}) };
  const needsCaptioner = (job: GenerationJob): boolean => job.history.items.some((item) => item.image !== undefined);

  /** One keyword request on the shared models (and the captioner when an item has only an image). */
  const keywordCall = async (checked: ReturnType<typeof checkKeywordInput>): Promise<unknown> => {
    const models = await acquireModels();
    const captioner = checked.history.items.some((i) => i.image !== undefined) && captionerDir ? await acquireCaptioner() : undefined;
    try {
      return await extractKeywords({
        ...checked,
        llm: models.value.llm,
        prompts: loadPrompts(),
        cache: keywordCache,
        ...(captioner ? { captioner: captioner.value.caption } : {}),
      });
    } finally {
      captioner?.release();
      models.release();
    }
  };
  const inFlight = new Set<Promise<unknown>>();

  const execute = async (stored: StoredJob, control: JobControl): Promise<JobOutcome> => {
    const leases: Lease<Closable>[] = [];
    const hold = async <T extends Closable>(lease: Promise<Lease<T>>): Promise<T> => {
      const held = await lease;
      leases.push(held);
      return held.value;
    };
    try {
      const models = await hold(acquireModels());
      control.signal.throwIfAborted();
      if (stored.kind === 'txt2img') {
        const steps = new StepEvents(stored.id, events, files, control);
        const out = await runTxt2ImgJob(models, stored.job as Txt2ImgJob, {
          signal: control.signal,
          warn,
          onStep: (event) => steps.step(event.stepsDone, event.requestedSteps),
          onPreview: (preview) => steps.preview(preview),
          previewWanted: steps.wanted,
        });
        steps.flush();
        return finishTxt2Img(stored.id, out, files);
      }
      const job = stored.job as GenerationJob;
      let soft: SoftRequest | undefined;
      if (job.soft) {
        const entry = softModules.get(job.soft.module);
        if (!entry) throw new PmgError('invalid-input', `soft.module: unknown soft module '${job.soft.module}'`, { details: { field: 'soft.module' } });
        const body = await hold(acquireBody(entry.body));
        soft = {
          module: entry.module,
          body,
          ...(softCache ? { cache: softCache } : {}),
          ...(job.soft.allowLlmMismatch ? { allowLlmMismatch: true } : {}),
        };
      }
      const captioner = needsCaptioner(job) && captionerDir ? (await hold(acquireCaptioner())).caption : undefined;
      control.signal.throwIfAborted();
      return await runGenerationJob({
        id: stored.id,
        job,
        models,
        ...(soft ? { soft } : {}),
        keywordCache,
        ...(captioner ? { captioner } : {}),
        control,
        events,
        files,
        warn,
      });
    } finally {
      for (const lease of leases) lease.release();
    }
  };

  const runner = new JobRunner({ store, events, execute: queued ? queued.execute : execute, concurrency, jobTimeoutMs, warn });
  for (const id of recoverJobs(store, events, maxAttempts)) runner.enqueue(id);

  // The models load now, in the background; the lease is the service's own for its lifetime.
  let closed = false;
  let modelsLease: Lease<ModelSet> | undefined;
  // With a queue the models live on the workers: none load here.
  const loading = queued
    ? Promise.resolve()
    : acquireModels().then(
        (lease) => {
          if (closed) lease.release();
          else modelsLease = lease;
        },
        (error: unknown) => warn(`the models could not be loaded: ${(error as Error).message}`),
      );

  const record = (job: StoredJob): JobRecord => {
    const position = job.state === 'queued' ? runner.position(job.id) : undefined;
    return { ...job, ...(position !== undefined ? { queuePosition: position } : {}) };
  };
  const get = (id: string): JobRecord | undefined => {
    if (!JOB_ID.test(id)) return undefined;
    const job = store.get(id);
    return job ? record(job) : undefined;
  };
  const ended = (job: JobRecord): boolean => job.state === 'done' || job.state === 'failed' || job.state === 'cancelled';
  const waiters = new Set<() => void>();

  const service: JobService = {
    submit(kind: JobKind, value: unknown): JobRecord {
      if (closed) throw new PmgError('aborted', 'the job service is closed');
      const job = checkServiceJob(kind, value, rules);
      if (runner.queued() >= queueSize && runner.runningCount() >= concurrency) {
        const retryAfterSeconds = runner.retryAfterSeconds();
        throw new PmgError('queue-full', `the queue is full (${queueSize} jobs waiting); try again in ${retryAfterSeconds} s`, {
          details: { retryAfterSeconds, queueSize },
          isRetryable: true,
        });
      }
      const stored: StoredJob = {
        id: newJobId(),
        kind,
        state: 'queued',
        job,
        createdAt: new Date().toISOString(),
        attempts: 0,
        progress: { stage: 'queued' },
        images: [],
      };
      store.insert(stored);
      events.emit(stored.id, 'queued', { position: runner.queued() });
      runner.enqueue(stored.id);
      return get(stored.id)!;
    },
    get,
    list(listOptions = {}) {
      const limit = Math.min(Math.max(1, Math.floor(listOptions.limit ?? DEFAULTS.listLimit)), DEFAULTS.maxListLimit);
      if (listOptions.before !== undefined && !JOB_ID.test(listOptions.before)) return [];
      return store.list(limit, listOptions.before).map(record);
    },
    cancel(id) {
      const job = get(id);
      if (!job) return undefined;
      if (!ended(job)) runner.cancel(id);
      return get(id);
    },
    events(id, afterId = 0) {
      return JOB_ID.test(id) ? store.events(id, afterId) : [];
    },
    subscribe(id, listener) {
      return events.subscribe(id, listener);
    },
    wait(id, waitOptions = {}) {
      return new Promise<JobRecord>((resolvePromise, reject) => {
        const now = get(id);
        if (!now) return reject(new PmgError('not-found', `no job ${id}`, { details: { id } }));
        if (ended(now)) return resolvePromise(now);
        const stop = (): void => {
          unsubscribe();
          waiters.delete(onClose);
          waitOptions.signal?.removeEventListener('abort', onAbort);
        };
        const onClose = (): void => {
          stop();
          resolvePromise(get(id) ?? now);
        };
        const onAbort = (): void => {
          stop();
          reject(new PmgError('aborted', `stopped waiting for job ${id}`));
        };
        const unsubscribe = events.subscribe(
          id,
          (event) => {
            if (FINAL_EVENTS.includes(event.type)) {
              stop();
              resolvePromise(get(id)!);
            }
          },
          { watching: false },
        );
        waiters.add(onClose);
        if (waitOptions.signal?.aborted) onAbort();
        else waitOptions.signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    imageFile(id, name) {
      const job = get(id);
      return job ? files.imageFile(id, name, job.images) : undefined;
    },
    resultFile(id) {
      const job = get(id);
      return job?.state === 'done' && job.kind === 'generation' ? files.resultFile(id) : undefined;
    },
    async keywords(input) {
      if (closed) throw new PmgError('invalid-argument', 'the job service is closed');
      if (queued) throw new PmgError('invalid-argument', keywordsRefusal);
      const checked = checkKeywordInput(input, rules);
      const call = keywordCall(checked);
      inFlight.add(call);
      try {
        return await call;
      } finally {
        inFlight.delete(call);
      }
    },
    models(): ServiceModels {
      const ids = modelsLease?.value.ids;
      return {
        models: options.models,
        ids: ids ?? { llm: resolvedSpec.llm, clip: resolvedSpec.clip, sd: resolvedSpec.sd, ...(resolvedSpec.decoder ? { decoder: resolvedSpec.decoder } : {}) },
        loaded: queued ? queued.workers() > 0 : modelsLease !== undefined,
        soft: [...softModules].map(([name, { module }]) => ({ name, P: module.config.P, N: module.config.N })),
        methods: [...personalizeMethods],
        scenes: [...scenes],
        captioner: !queued && captionerDir !== undefined,
        ...(queued ? { queue: { url: queued.where, workers: queued.workers() } } : {}),
      };
    },
    ready: () => !closed && (queued ? queued.reachable() : modelsLease !== undefined),
    stats: () => ({ queued: runner.queued(), running: runner.runningCount(), capacity: queueSize, ...(queued ? { workers: queued.workers() } : {}) }),
    async close() {
      if (closed) return;
      closed = true;
      await runner.close();
      await queued?.close();
      await Promise.allSettled([...inFlight]);
      for (const wake of [...waiters]) wake();
      await loading;
      modelsLease?.release();
      await registry.closeAll();
      keywordCache.close();
      softCache?.close();
      store.close();
    },
  };
  return service;
}

function positive(value: number, name: string, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new PmgError('invalid-argument', `${name} must be a whole number >= ${min}, got ${value}`);
  return value;
}

function folderOf(path: string): string | undefined {
  return existsSync(path) && statSync(path).isDirectory() ? path : undefined;
}
