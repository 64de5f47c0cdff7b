/**
 * Checks of the paths a command writes to, made before any model loads. A regular file where a folder is
 * wanted — the output folder itself, or any folder above an output — is a `file-system` error (exit code 74,
 * as for the same problem met while writing), one line naming the path and the file in the way.
 */
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';

/** `path` (absolute) will be a folder the command writes into; `what` names it in messages, e.g. '--out'. */
export function checkOutputFolder(path: string, what: string): void {
  const blocker = fileInTheWay(path);
  if (blocker === path) throw notAFolder(`${what} ${path} is a file; give a folder (it is created when missing)`, path);
  if (blocker) throw notAFolder(`${what} ${path}: ${blocker} is a file, not a folder; give a path whose folders are folders`, blocker);
}

/** `path` (absolute) will be a file the command writes; it must not be a folder, and no folder above it a file. */
export function checkOutputFile(path: string, what: string): void {
  if (isFolder(path)) throw notAFolder(`${what} ${path} is a folder; give a file name`, path);
  const blocker = fileInTheWay(dirname(path));
  if (blocker) throw notAFolder(`${what} ${path}: ${blocker} is a file, not a folder; give a path whose folders are folders`, blocker);
}

/** The deepest existing path among `path` and its parents when it is not a folder (undefined when it is one). */
function fileInTheWay(path: string): string | undefined {
  for (let current = path; ; current = dirname(current)) {
    try {
      return statSync(current).isDirectory() ? undefined : current;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    }
    if (dirname(current) === current) return undefined;
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function notAFolder(message: string, path: string): PmgError {
  return new PmgError('file-system', message, { details: { path } });
}
