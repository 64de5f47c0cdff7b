/**
 * onnxruntime's optimized graphs, saved once and loaded afterwards with graph optimizations off.
 *
 * Creating a session at level `all` spends most of its time transforming the graph (fusions, the CPU's blocked
 * NCHWc layout for convolutions and their reordered weights): on an 891 M-parameter proxy of SD's UNet, 10.4 s of
 * creation against 4.2 s when the saved optimized graph is loaded at level `disabled`, with the same speed per call
 * (docs/performance.md, "Session creation"). The saved graph holds kernels and weight layouts of this CPU and this
 * onnxruntime, so the cache key is the model file (path, size, mtime, and those of its external data), the
 * onnxruntime version, the CPU (model and instruction-set flags), the thread count and the session's memory options.
 *
 * Layout: `<cacheDir>/optimized/<key>/model.onnx` + `model.onnx.data`, written by onnxruntime into
 * `<key>.tmp-<pid>/` and renamed when the session that wrote it was created; a folder that fails to load is removed
 * and the model is loaded (and saved) again. Only CPU sessions of models of at least MIN_CACHED_MODEL_BYTES use it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { arch, cpus } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** Smaller models are created in well under a second: not worth a cached copy. */
export const MIN_CACHED_MODEL_BYTES = 64 * 2 ** 20;
export const OPTIMIZED_FOLDER = 'optimized';
const MODEL = 'model.onnx';

/** The model file and the external-data files beside it that it may use (same stem, or weights.pb). */
function modelFiles(path: string): string[] {
  const dir = dirname(path);
  const stem = basename(path);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [path];
  }
  const sidecars = names.filter((n) => n !== stem && (n.startsWith(`${stem}.`) || n.startsWith(`${stem}_`) || n === 'weights.pb') && !n.endsWith('.onnx'));
  return [path, ...sidecars.sort().map((n) => join(dir, n))];
}

/** Bytes of the model and its external data. */
export function modelBytes(path: string): number {
  return modelFiles(path).reduce((sum, file) => sum + (existsSync(file) ? statSync(file).size : 0), 0);
}

let cpuFingerprint: string | undefined;

/** CPU model, architecture and instruction-set flags (the saved graph's kernels and weight layouts depend on them). */
function cpuIdentity(): string {
  if (cpuFingerprint === undefined) {
    let flags = '';
    try {
      flags = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    } catch {
      // not Linux: the model name stands for the CPU
    }
    cpuFingerprint = `${cpus()[0]?.model ?? 'unknown'}|${arch()}|${flags}`;
  }
  return cpuFingerprint;
}

export interface CacheKeyParts {
  ortVersion: string;
  /** Anything else that changes the saved graph (threads, memory options). */
  options: string;
}

/** The cache folder name of a model file under these conditions. */
export function optimizedCacheKey(path: string, parts: CacheKeyParts): string {
  const files = modelFiles(path).map((file) => {
    const s = statSync(file);
    return `${file}|${s.size}|${s.mtimeMs}`;
  });
  return createHash('sha256')
    .update([...files, parts.ortVersion, cpuIdentity(), parts.options].join('\n'))
    .digest('hex')
    .slice(0, 32);
}

export interface OptimizedEntry {
  /** The saved optimized graph, when it is there. */
  cached?: string;
  /** Where onnxruntime should save it now (a temporary folder), when it is not. */
  saveTo?: string;
  /** Renames the temporary folder to its final name after the session was created. */
  commit(): void;
  /** Removes a cached folder that failed to load. */
  discard(): void;
}

export function optimizedEntry(cacheDir: string, path: string, parts: CacheKeyParts): OptimizedEntry {
  const folder = join(cacheDir, OPTIMIZED_FOLDER, optimizedCacheKey(path, parts));
  const temp = `${folder}.tmp-${process.pid}`;
  if (existsSync(join(folder, MODEL))) {
    return { cached: join(folder, MODEL), commit: () => undefined, discard: () => rmSync(folder, { recursive: true, force: true }) };
  }
  mkdirSync(temp, { recursive: true });
  return {
    saveTo: join(temp, MODEL),
    commit: () => {
      if (!existsSync(join(temp, MODEL))) return;
      try {
        renameSync(temp, folder);
      } catch {
        // another process saved it first: keep theirs
        rmSync(temp, { recursive: true, force: true });
      }
    },
    discard: () => rmSync(temp, { recursive: true, force: true }),
  };
}

/** Session config entries that make onnxruntime save the optimized graph's weights as external data. */
export const SAVE_EXTERNAL_DATA = {
  optimized_model_external_initializers_file_name: `${MODEL}.data`,
  optimized_model_external_initializers_min_size_in_bytes: '1024',
};
