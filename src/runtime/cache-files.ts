/**
 * Reading the cache from disk: which listed files are missing, sizes, the totals `pmg models list`
 * shows, and tidying empty folders after a rejected download.
 */
import { readdir, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { incompleteSuffix, metadataFileName } from './cache-layout.js';
import type { RepoEntry } from './revision-metadata.js';

export async function missingEntries(dir: string, entries: RepoEntry[]): Promise<RepoEntry[]> {
  const missing: RepoEntry[] = [];
  for (const entry of entries) {
    try {
      const info = await stat(join(dir, entry.path));
      if (entry.size !== undefined && info.size !== entry.size) missing.push(entry);
    } catch {
      missing.push(entry);
    }
  }
  return missing;
}

export async function sizeOf(dir: string, files: string[]): Promise<number> {
  let total = 0;
  for (const file of files) total += (await stat(join(dir, file))).size;
  return total;
}

export async function walk(dir: string, totals: { files: number; bytes: number; incompleteBytes: number }): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, totals);
    else if (entry.isFile() && entry.name !== metadataFileName) {
      const size = (await stat(path)).size;
      if (entry.name.endsWith(incompleteSuffix)) totals.incompleteBytes += size;
      else {
        totals.files++;
        totals.bytes += size;
      }
    }
  }
}

export async function safeReaddir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

/** Removes `dir` and its parents while they are empty, stopping at `stop`. */
export async function removeEmptyParents(dir: string, stop: string): Promise<void> {
  let current = dir;
  while (current.startsWith(stop) && current !== stop && current.length > stop.length) {
    try {
      await rmdir(current);
    } catch {
      return;
    }
    current = dirname(current);
  }
}
