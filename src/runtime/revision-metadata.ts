/**
 * What the store learnt about one cached revision, kept in `.pmg-model.json` beside its files:
 * the commit the hub reported, the full file listing (after a pull: lets a second pull or resolve
 * decide without the network), and optional files the repo does not have (a 404 is not asked twice).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../core/atomic-write.js';
import { metadataFileName } from './cache-layout.js';

export interface RepoEntry {
  path: string;
  size?: number;
  /** sha256 of the content, known for LFS files. */
  sha256?: string;
}

export interface RevisionMetadata {
  id: string;
  revision: string;
  commit?: string;
  endpoint: string;
  listing?: RepoEntry[];
  absent: string[];
  updatedAt: string;
}

export async function readRevisionMetadata(dir: string): Promise<RevisionMetadata | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, metadataFileName), 'utf8')) as Partial<RevisionMetadata>;
    if (typeof parsed.id !== 'string' || typeof parsed.revision !== 'string') return undefined;
    return {
      id: parsed.id,
      revision: parsed.revision,
      commit: typeof parsed.commit === 'string' ? parsed.commit : undefined,
      endpoint: typeof parsed.endpoint === 'string' ? parsed.endpoint : '',
      listing: Array.isArray(parsed.listing) ? parsed.listing.filter((e): e is RepoEntry => typeof e?.path === 'string') : undefined,
      absent: Array.isArray(parsed.absent) ? parsed.absent.filter((e): e is string => typeof e === 'string') : [],
      updatedAt: typeof parsed.updatedAt === 'string' ? parsed.updatedAt : '',
    };
  } catch {
    // missing or damaged: the store simply knows nothing yet
    return undefined;
  }
}

/** Written atomically (temp file + rename), so a reader never sees half a file. */
export async function writeRevisionMetadata(dir: string, metadata: RevisionMetadata): Promise<void> {
  await writeJsonAtomic(join(dir, metadataFileName), metadata);
}
