/**
 * ONNX Runtime sessions: created once per process per (file, options), checked against the
 * input names a caller expects, run one at a time per session, released on shutdown.
 * Only this folder (runtime/) and providers/metrics import onnxruntime-node; the diffusion
 * pipeline and schedulers talk to interfaces.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import * as ort from 'onnxruntime-node';
import { PmgError } from '../errors/pmg-error.js';
import { MIN_CACHED_MODEL_BYTES, modelBytes, optimizedEntry, SAVE_EXTERNAL_DATA, type CacheKeyParts } from './optimized-model-cache.js';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface SessionOptions {
  executionProvider?: ExecutionProvider;
  /** Intra-op threads; default: the machine's cores. */
  intraOpThreads?: number;
  /**
   * Let onnxruntime's worker threads busy-wait between runs (default false). Spinning threads take the cores
   * the JavaScript between two runs needs: on a 2-core machine the diffusion bench was 10-15% slower per image
   * with spinning on.
   */
  allowSpinning?: boolean;
  /**
   * onnxruntime's memory pattern (default false). It plans one block for all of a call's intermediate tensors and,
   * with the arena, keeps a power-of-two block that size: measured on a proxy of SD 1.5's full-resolution level at
   * 512 px it doubled the peak (2.31 GB per batch row against 1.22 GB without) at the same speed (docs/performance.md).
   */
  memoryPattern?: boolean;
  /**
   * onnxruntime's CPU memory arena (default true): freed tensors stay in the process for the next call. Without it
   * every call faults its working memory in again: the same proxy ran 1.9x slower per call.
   */
  cpuArena?: boolean;
  /**
   * Folder for onnxruntime's saved optimized graphs (optimized-model-cache.ts; the CLI uses the model cache). CPU
   * sessions of models of at least `optimizedCacheMinBytes` (default 64 MB) save theirs once and load it afterwards.
   */
  optimizedCacheDir?: string;
  optimizedCacheMinBytes?: number;
}

type ResolvedOptions = Required<Omit<SessionOptions, 'optimizedCacheDir' | 'optimizedCacheMinBytes'>>;

export type Feeds = Record<string, ort.Tensor>;

export interface InputInfo {
  name: string;
  /** 'float32' | 'float16' | 'int64' | ... ; undefined for non-tensor inputs. */
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

export class OnnxSession {
  private queue: Promise<unknown> = Promise.resolve();
  /** Total milliseconds spent inside `session.run` (for the benchmarks' overhead figure). */
  runMs = 0;
  runCount = 0;

  private constructor(
    readonly path: string,
    private readonly session: ort.InferenceSession,
    readonly options: ResolvedOptions,
    /** 'optimized-cache' when the session came from onnxruntime's saved optimized graph. */
    readonly loadedFrom: 'model' | 'optimized-cache',
    /** Milliseconds the session took to create. */
    readonly createMs: number,
  ) {}

  static async create(path: string, options: SessionOptions = {}): Promise<OnnxSession> {
    if (!existsSync(path)) throw new PmgError('model-file-missing', `model file ${path} does not exist`, { details: { path } });
    const started = performance.now();
    const resolved: ResolvedOptions = {
      executionProvider: options.executionProvider ?? 'cpu',
      intraOpThreads: options.intraOpThreads ?? cpus().length,
      allowSpinning: options.allowSpinning ?? false,
      memoryPattern: options.memoryPattern ?? false,
      cpuArena: options.cpuArena ?? true,
    };
    const spinning = resolved.allowSpinning ? '1' : '0';
    const providers: ort.InferenceSession.ExecutionProviderConfig[] = resolved.executionProvider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'];
    const base: ort.InferenceSession.SessionOptions = {
      executionProviders: providers,
      intraOpNumThreads: resolved.intraOpThreads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      enableMemPattern: resolved.memoryPattern,
      enableCpuMemArena: resolved.cpuArena,
      // Errors reach the user through PmgError; onnxruntime's own warnings would only add noise on stderr.
      logSeverityLevel: 3,
    };
    const threadConfig = { intra_op: { allow_spinning: spinning }, inter_op: { allow_spinning: spinning } };
    const make = async (from: string, extra: ort.InferenceSession.SessionOptions, loadedFrom: OnnxSession['loadedFrom']): Promise<OnnxSession> => {
      const session = await ort.InferenceSession.create(from, {
        ...base,
        ...extra,
        extra: { session: { ...threadConfig, ...(extra.extra as { session?: object } | undefined)?.session } },
      });
      return new OnnxSession(path, session, resolved, loadedFrom, performance.now() - started);
    };
    const cacheDir = resolved.executionProvider === 'cpu' ? options.optimizedCacheDir : undefined;
    let entry =
      cacheDir && modelBytes(path) >= (options.optimizedCacheMinBytes ?? MIN_CACHED_MODEL_BYTES)
        ? optimizedEntry(cacheDir, path, cacheParts(resolved))
        : undefined;
    if (entry?.cached) {
      try {
        return await make(entry.cached, { graphOptimizationLevel: 'disabled' }, 'optimized-cache');
      } catch {
        // A saved graph that no longer loads (another onnxruntime, a damaged file): drop it and save it again.
        entry.discard();
        entry = optimizedEntry(cacheDir!, path, cacheParts(resolved));
      }
    }
    try {
      if (entry?.saveTo) {
        try {
          const session = await make(path, { optimizedModelFilePath: entry.saveTo, extra: { session: SAVE_EXTERNAL_DATA } }, 'model');
          entry.commit();
          return session;
        } catch {
          // Saving failed (disk full, read-only cache): load without saving; a model error shows up below.
          entry.discard();
        }
      }
      return await make(path, {}, 'model');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (resolved.executionProvider === 'cuda' && /cuda|provider/i.test(message)) {
        throw new PmgError(
          'unsupported',
          `the CUDA execution provider is not available (${firstLine(message)}); install it with 'ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js' (needs CUDA 12 and cuDNN 9), or use the cpu device`,
          { cause: error },
        );
      }
      throw new PmgError('model-layout', `cannot load ONNX model ${path}: ${firstLine(message)}`, { cause: error, details: { path } });
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  inputInfo(name: string): InputInfo | undefined {
    const meta = this.session.inputMetadata.find((m) => m.name === name);
    if (!meta) return undefined;
    return meta.isTensor ? { name, type: meta.type, shape: meta.shape } : { name };
  }

  outputInfo(name: string): InputInfo | undefined {
    const meta = this.session.outputMetadata.find((m) => m.name === name);
    if (!meta) return undefined;
    return meta.isTensor ? { name, type: meta.type, shape: meta.shape } : { name };
  }

  /** Throws a clear error unless the model has every one of these inputs/outputs. */
  expect(what: string, inputs: string[], outputs: string[] = []): void {
    const missingIn = inputs.filter((n) => !this.inputNames.includes(n));
    const missingOut = outputs.filter((n) => !this.outputNames.includes(n));
    if (missingIn.length || missingOut.length) {
      throw new PmgError(
        'model-layout',
        `${what} ${this.path} does not have the expected ${missingIn.length ? `inputs ${missingIn.join(', ')}` : ''}${missingIn.length && missingOut.length ? ' and ' : ''}${missingOut.length ? `outputs ${missingOut.join(', ')}` : ''} (it has inputs ${this.inputNames.join(', ')}; outputs ${this.outputNames.join(', ')})`,
        { details: { path: this.path } },
      );
    }
  }

  /** Run the model; calls on one session are serialised. Errors name inputs, dtypes and shapes, never data. */
  run(feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, ort.Tensor>> {
    const task = this.queue.then(async () => {
      const started = performance.now();
      try {
        return (await (fetches ? this.session.run(feeds, fetches) : this.session.run(feeds))) as Record<string, ort.Tensor>;
      } catch (error) {
        const described = Object.entries(feeds)
          .map(([name, t]) => `${name}:${t.type}[${t.dims.join(',')}]`)
          .join(' ');
        const message = error instanceof Error ? error.message : String(error);
        throw new PmgError('internal', `ONNX run failed for ${this.path} with inputs ${described}: ${firstLine(message)}`, { cause: error });
      } finally {
        this.runMs += performance.now() - started;
        this.runCount++;
      }
    });
    this.queue = task.catch(() => undefined);
    return task;
  }

  async release(): Promise<void> {
    await this.queue;
    await this.session.release();
  }
}

/** What, besides the model file, the CPU and onnxruntime's version, changes a saved optimized graph. */
function cacheParts(options: ResolvedOptions): CacheKeyParts {
  return {
    ortVersion: ort.env.versions.node ?? ort.env.versions.common,
    options: `threads=${options.intraOpThreads}|pattern=${options.memoryPattern}|arena=${options.cpuArena}`,
  };
}

/** One session per (path, options) for the whole process. */
export class SessionPool {
  private readonly sessions = new Map<string, Promise<OnnxSession>>();

  constructor(private readonly defaults: SessionOptions = {}) {}

  get(path: string, options: SessionOptions = {}): Promise<OnnxSession> {
    const merged = { ...this.defaults, ...options };
    const key = `${path}|${merged.executionProvider ?? 'cpu'}|${merged.intraOpThreads ?? ''}|${merged.allowSpinning ? 'spin' : ''}|${merged.memoryPattern ? 'pattern' : ''}|${merged.cpuArena === false ? 'no-arena' : ''}|${merged.optimizedCacheDir ?? ''}`;
    let session = this.sessions.get(key);
    if (!session) {
      session = OnnxSession.create(path, merged);
      session.catch(() => this.sessions.delete(key));
      this.sessions.set(key, session);
    }
    return session;
  }

  get size(): number {
    return this.sessions.size;
  }

  async releaseAll(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const pending of all) {
      const session = await pending.catch(() => undefined);
      await session?.release();
    }
  }
}

/** The process-wide pool used by the CLI and server (library users may make their own). */
export const defaultSessionPool = new SessionPool();

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 300);
}

export { ort };
