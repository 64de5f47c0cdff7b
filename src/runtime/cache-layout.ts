/**
 * Where the model store keeps things, and how a model spec (a local folder or a hub repo id)
 * is read. Layout: `<cacheDir>/models/<owner>--<name>/<revision>/<path>`; the revision folder
 * name is the revision URL-encoded (so `refs/pr/1` stays one folder). A download in progress is
 * `<path>.incomplete`; facts the store learnt about a revision live in `.pmg-model.json` beside
 * the files.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';

export const incompleteSuffix = '.incomplete';
export const metadataFileName = '.pmg-model.json';
export const defaultRevision = 'main';

export type ModelSpec = { kind: 'local'; dir: string; spec: string } | { kind: 'hub'; id: string; owner: string; name: string; revision: string; spec: string };

const hubIdPattern = /^([A-Za-z0-9][A-Za-z0-9._-]*)\/([A-Za-z0-9][A-Za-z0-9._-]*)(?:@(.+))?$/;

/**
 * A spec is a local folder when it starts with `/`, `./`, `../` or `~/`, or names a folder that
 * exists (relative to `cwd`); otherwise it must be a hub id `owner/name` or `owner/name@revision`.
 */
export function parseModelSpec(spec: string, cwd: string = process.cwd(), home?: string): ModelSpec {
  const trimmed = spec.trim();
  if (!trimmed) throw new PmgError('invalid-argument', 'empty model name; give a folder path or a hub repo id like owner/name[@revision]');
  const explicitPath = /^(\/|\.\.?(\/|$)|~(\/|$))/.test(trimmed) || isAbsolute(trimmed);
  if (explicitPath) {
    const expanded = trimmed.startsWith('~') && home ? join(home, trimmed.slice(1)) : trimmed;
    return { kind: 'local', dir: resolvePath(cwd, expanded), spec: trimmed };
  }
  const local = resolvePath(cwd, trimmed);
  if (existsSync(local) && statSync(local).isDirectory()) return { kind: 'local', dir: local, spec: trimmed };
  const match = hubIdPattern.exec(trimmed);
  if (!match || match[1]!.includes('--') || match[2]!.includes('--') || match[2] === '..' || match[2] === '.') {
    throw new PmgError('model-not-found', `model '${trimmed}' is neither an existing folder nor a hub repo id like owner/name[@revision]`, {
      details: { spec: trimmed },
    });
  }
  const revision = match[3] ?? defaultRevision;
  if (revision.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new PmgError('invalid-argument', `revision '${revision}' of '${trimmed}' is not a valid branch, tag or commit name`);
  }
  return { kind: 'hub', id: `${match[1]}/${match[2]}`, owner: match[1]!, name: match[2]!, revision, spec: trimmed };
}

export function repoCacheDir(cacheDir: string, id: string): string {
  return join(cacheDir, 'models', id.replace('/', '--'));
}

export function revisionCacheDir(cacheDir: string, id: string, revision: string): string {
  return join(repoCacheDir(cacheDir, id), encodeURIComponent(revision));
}

/** Inverse of the folder naming: `owner--name` → `owner/name`. */
export function idFromRepoFolder(folder: string): string | undefined {
  const at = folder.indexOf('--');
  if (at <= 0 || at + 2 >= folder.length) return undefined;
  return `${folder.slice(0, at)}/${folder.slice(at + 2)}`;
}

export function revisionFromFolder(folder: string): string {
  try {
    return decodeURIComponent(folder);
  } catch {
    return folder;
  }
}

/**
 * Checks a repo file path (from the caller or from a hub listing) and returns it with `/`
 * separators. Absolute paths, `..` segments and backslashes are refused so a listing can
 * never write outside the cache.
 */
export function checkRepoPath(file: string, where: string): string {
  const parts = file.split('/');
  const bad =
    file === '' ||
    file.includes('\\') ||
    file.includes('\0') ||
    file.startsWith('/') ||
    parts.some((part) => part === '' || part === '.' || part === '..') ||
    file.endsWith(incompleteSuffix) ||
    parts[parts.length - 1] === metadataFileName;
  if (bad) throw new PmgError('invalid-argument', `file path '${file}' in ${where} is not a plain relative path inside the repo`);
  return file;
}

/**
 * fnmatch-style patterns, as `huggingface-cli download --include` reads them: `*` matches any
 * run of characters including `/`, `?` one character, `[abc]` a set; a pattern ending in `/`
 * matches everything under that folder.
 */
export function matchesAny(file: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => patternToRegExp(pattern).test(file));
}

function patternToRegExp(pattern: string): RegExp {
  const source = pattern.endsWith('/') ? `${pattern}*` : pattern;
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else if (ch === '[') {
      const end = source.indexOf(']', i + 1);
      if (end === -1) out += '\\[';
      else {
        let set = source.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        out += `[${set}]`;
        i = end;
      }
    } else out += ch.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
