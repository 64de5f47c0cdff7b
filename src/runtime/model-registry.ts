/**
 * A registry of loaded models (a model set, a soft module with its LLM body, a captioner), keyed by what was loaded:
 * each key loads once, however many callers ask at the same time (they share the one load promise; a load that
 * fails is not kept, so the next acquire tries again). Every acquire counts a user until its `release()`; an entry
 * nobody uses stays loaded while at most `maxIdle` such idle entries exist, and the least recently used idle ones
 * beyond that are closed, so a long-running server holds a bounded number of models. `closeAll()` closes everything.
 */
import { PmgError } from '../errors/pmg-error.js';

export interface Closable {
  close(): Promise<void>;
}

export interface Lease<T> {
  value: T;
  /** Give the value back (once; later calls do nothing). */
  release(): void;
}

interface Entry<T> {
  promise: Promise<T>;
  value?: T;
  users: number;
  /** Monotonic counter of the last release (LRU order of idle entries). */
  lastUsed: number;
}

export interface ModelRegistryOptions {
  /** Idle (unused, loaded) entries kept (default 1). */
  maxIdle?: number;
  /** Receives close failures (they never reach the caller that released). */
  warn?: (message: string) => void;
}

export class ModelRegistry<T extends Closable> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly loadCounts = new Map<string, number>();
  private readonly maxIdle: number;
  private clock = 0;
  private closed = false;

  constructor(private readonly options: ModelRegistryOptions = {}) {
    this.maxIdle = options.maxIdle ?? 1;
    if (!Number.isInteger(this.maxIdle) || this.maxIdle < 0) throw new PmgError('invalid-argument', `maxIdle must be a whole number >= 0, got ${this.maxIdle}`);
  }

  /** The value of `key`, loaded with `load` unless it is loaded (or loading) already. */
  async acquire(key: string, load: () => Promise<T>): Promise<Lease<T>> {
    if (this.closed) throw new PmgError('aborted', 'the model registry is closed');
    let entry = this.entries.get(key);
    if (!entry) {
      this.loadCounts.set(key, (this.loadCounts.get(key) ?? 0) + 1);
      const created: Entry<T> = { promise: load(), users: 0, lastUsed: 0 };
      entry = created;
      this.entries.set(key, created);
      created.promise.then(
        (value) => {
          created.value = value;
        },
        () => {
          if (this.entries.get(key) === created) this.entries.delete(key);
        },
      );
    }
    entry.users += 1;
    let value: T;
    try {
      value = await entry.promise;
    } catch (error) {
      entry.users -= 1;
      throw error;
    }
    if (this.closed) {
      entry.users -= 1;
      throw new PmgError('aborted', 'the model registry is closed');
    }
    const held = entry;
    let released = false;
    return {
      value,
      release: () => {
        if (released) return;
        released = true;
        held.users -= 1;
        held.lastUsed = ++this.clock;
        this.evict();
      },
    };
  }

  /** How many times `key` was loaded (a test's and a status page's view). */
  loads(key: string): number {
    return this.loadCounts.get(key) ?? 0;
  }

  /** Keys loaded now (or loading), with their user counts. */
  snapshot(): { key: string; users: number; loaded: boolean }[] {
    return [...this.entries].map(([key, e]) => ({ key, users: e.users, loaded: e.value !== undefined }));
  }

  /** Close every entry (users or not) and refuse new acquires. */
  async closeAll(): Promise<void> {
    this.closed = true;
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(
      entries.map(async (entry) => {
        const value = await entry.promise.catch(() => undefined);
        if (value) await this.closeValue(value);
      }),
    );
  }

  private evict(): void {
    const idle = [...this.entries].filter(([, e]) => e.users === 0 && e.value !== undefined).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, entry] of idle.slice(0, Math.max(0, idle.length - this.maxIdle))) {
      this.entries.delete(key);
      void this.closeValue(entry.value!);
    }
  }

  private async closeValue(value: T): Promise<void> {
    try {
      await value.close();
    } catch (error) {
      this.options.warn?.(`closing a model failed: ${(error as Error).message}`);
    }
  }
}
