/**
 * The one helper for writing files so that a reader never sees half of one: the content goes to a temporary name in
 * the same folder (`<path>.tmp-<pid>-<8 hex>`; folders `<dir>.tmp-<pid>`) and is renamed into place when complete. A
 * failed write removes its temporary and leaves the previous file as it was. `durable` also fsyncs the file before the
 * rename and its folder after it (for records that must survive a power cut, not only a killed process).
 *
 * A process killed between the two steps leaves such a temporary behind; removeOrphanTemporaries deletes those whose
 * process is gone.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** fsync the file before the rename and its folder after it. Default false. */
  durable?: boolean;
}

/** `<path>.tmp-<pid>-<8 hex>`: unique per call, and recognised by removeOrphanTemporaries. */
export function temporaryPath(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Write `data` to `path` atomically (its folder is created). */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = temporaryPath(path);
  try {
    if (options.durable) {
      const handle = await open(temporary, 'w');
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } else {
      await writeFile(temporary, data);
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  if (options.durable) syncFolder(dirname(path));
}

/** writeFileAtomic, synchronously. */
export function writeFileAtomicSync(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = temporaryPath(path);
  try {
    if (options.durable) {
      const fd = openSync(temporary, 'w');
      try {
        writeFileSync(fd, data);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } else {
      writeFileSync(temporary, data);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  if (options.durable) syncFolder(dirname(path));
}

/** Pretty-printed JSON (two spaces, final newline), the form of every JSON file pmg writes. */
export function jsonFileText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Write `value` as pretty-printed JSON, atomically. */
export async function writeJsonAtomic(path: string, value: unknown, options: AtomicWriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, jsonFileText(value), options);
}

/** writeJsonAtomic, synchronously. */
export function writeJsonAtomicSync(path: string, value: unknown, options: AtomicWriteOptions = {}): void {
  writeFileAtomicSync(path, jsonFileText(value), options);
}

/**
 * Write several files, all or none: every content goes to its temporary first, then all are renamed; if anything
 * fails, the temporaries and the files this call already renamed into place are removed.
 */
export function writeFilesAtomicSync(files: ReadonlyArray<readonly [path: string, data: Uint8Array | string]>): void {
  const temporaries = files.map(([path]) => temporaryPath(path));
  const done: string[] = [];
  try {
    files.forEach(([, data], i) => writeFileSync(temporaries[i]!, data));
    files.forEach(([path], i) => {
      renameSync(temporaries[i]!, path);
      done.push(path);
    });
  } catch (error) {
    for (const temporary of temporaries) rmSync(temporary, { force: true });
    for (const path of done) rmSync(path, { force: true });
    throw error;
  }
}

/**
 * Make the folder `dir` whole or not at all: `fill` writes into `<dir>.tmp-<pid>` (created empty), which then replaces
 * `dir` (an existing `dir` is removed first). If `fill` fails, the temporary folder is removed and `dir` is untouched.
 */
export async function replaceFolderAtomic(dir: string, fill: (temporary: string) => Promise<void>): Promise<void> {
  const temporary = `${dir}.tmp-${process.pid}`;
  await rm(temporary, { recursive: true, force: true });
  try {
    await mkdir(temporary, { recursive: true });
    await fill(temporary);
    await rm(dir, { recursive: true, force: true });
    await rename(temporary, dir);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Put the finished folder `staged` at `target`. An existing `target` is first renamed to `old` and removed only after
 * `staged` is in place (restored if that rename fails), so at every moment the previous or the new folder exists
 * under one of the two names.
 */
export function swapFolderSync(staged: string, target: string, old = `${target}.old-${process.pid}`): void {
  rmSync(old, { recursive: true, force: true });
  if (!existsSync(target)) {
    renameSync(staged, target);
    return;
  }
  renameSync(target, old);
  try {
    renameSync(staged, target);
  } catch (error) {
    renameSync(old, target);
    throw error;
  }
  rmSync(old, { recursive: true, force: true });
}

function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some systems (Windows) cannot open or fsync a folder; the file itself was synced
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `name.tmp-<pid>` or `name.tmp-<pid>-<8 hex>`: the names of this file's temporaries. */
const TEMPORARY_NAME = /\.tmp-(\d+)(?:-[0-9a-f]{8})?$/;

/**
 * Removes the temporaries under `dir` (any depth) left by processes that no longer run, and returns their
 * paths. A temporary of a live process (another run writing now, or this one) is left alone.
 */
export async function removeOrphanTemporaries(dir: string): Promise<string[]> {
  const removed: string[] = [];
  const visit = async (folder: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(folder, entry.name);
      const match = TEMPORARY_NAME.exec(entry.name);
      if (match && !isRunning(Number(match[1]))) {
        await rm(path, { recursive: true, force: true });
        removed.push(path);
      } else if (entry.isDirectory()) {
        await visit(path);
      }
    }
  };
  await visit(dir);
  return removed.sort();
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The name the run store has always used for writeFileAtomic (kept for src/index.ts). */
export const writeAtomic = writeFileAtomic;
