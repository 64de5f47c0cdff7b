/**
 * Files of a run folder are written atomically: to `<path>.tmp-<pid>-<random>` (folders: `<dir>.tmp-<pid>`)
 * and renamed into place, so a reader never sees half a file. A run killed between the two steps leaves
 * such a temporary behind; the next run in the folder removes those whose process is gone.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Write to `<path>.tmp-<pid>-<random>` then rename, so a reader never sees half a file. */
export async function writeAtomic(path: string, data: Buffer | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** `name.tmp-<pid>` or `name.tmp-<pid>-<8 hex>`: the names writeAtomic and the folder writers use. */
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
