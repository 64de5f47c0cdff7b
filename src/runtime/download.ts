/**
 * One file from a `resolve` URL into the cache: written to `<dest>.incomplete`, resumed with an
 * HTTP Range request when a partial file is there (from a dropped connection in this run or an
 * interrupted earlier run), verified by size and (where known) sha256, and only then renamed to
 * `<dest>`. A partial or rejected file is never at `<dest>`.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import type { ProgressSink, ProgressTask } from '../core/progress.js';
import { incompleteSuffix } from './cache-layout.js';
import { HttpFailure, bodyFailure, ensureOk, headerValue, withRetries, type HubHttpClient, type RetryPolicy } from './hub-http.js';

export interface DownloadRequest {
  url: string;
  dest: string;
  /** Known in advance from a listing; otherwise taken from the response headers. */
  expectedSize?: number;
  expectedSha256?: string;
  label: string;
}

export interface DownloadResult {
  /** Bytes received over the network in this call (less than the size when resumed). */
  receivedBytes: number;
  size: number;
  sha256?: string;
  /** `X-Repo-Commit` from the hub, when it sent one. */
  commit?: string;
}

/** Thrown when the finished file does not match its size or sha256; the file is removed. */
export class VerificationFailure extends Error {
  constructor(
    message: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(message);
    this.name = 'VerificationFailure';
  }
}

export async function downloadFile(request: DownloadRequest, http: HubHttpClient, policy: RetryPolicy, progress: ProgressSink): Promise<DownloadResult> {
  const partial = `${request.dest}${incompleteSuffix}`;
  await mkdir(dirname(request.dest), { recursive: true });
  let size = request.expectedSize;
  let sha256 = request.expectedSha256?.toLowerCase();
  let commit: string | undefined;
  let receivedBytes = 0;
  let task: ProgressTask | undefined;
  let restartedAfter416 = false;

  await withRetries(policy, async () => {
    let offset = await fileSize(partial);
    if (size !== undefined && offset > size) {
      await unlink(partial);
      offset = 0;
    }
    if (size !== undefined && offset === size && offset > 0) return;
    const response = await http.request('GET', request.url, offset > 0 ? { Range: `bytes=${offset}-` } : {});
    const first = response.hops[0]!.headers;
    commit ??= headerValue(first, 'x-repo-commit');
    const linkedSize = headerValue(first, 'x-linked-size');
    const linkedEtag = unquote(headerValue(first, 'x-linked-etag'));
    if (size === undefined && linkedSize && /^\d+$/.test(linkedSize)) size = Number(linkedSize);
    if (sha256 === undefined && linkedEtag && /^[0-9a-f]{64}$/i.test(linkedEtag)) sha256 = linkedEtag.toLowerCase();

    if (response.status === 416 && offset > 0) {
      // The partial file does not fit what the server has now: start over (once).
      response.body.resume();
      await unlink(partial);
      if (restartedAfter416) throw new HttpFailure('status', 'HTTP 416 Range Not Satisfiable', response.url, 416);
      restartedAfter416 = true;
      throw new HttpFailure('connection', 'range not satisfiable; restarting the download', response.url);
    }
    await ensureOk(response);
    let append = false;
    if (response.status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headerValue(response.headers, 'content-range') ?? '');
      if (range && Number(range[1]) === offset) {
        append = true;
        if (size === undefined && range[3] !== '*') size = Number(range[3]);
      } else {
        response.body.resume();
        await unlink(partial).catch(() => undefined);
        throw new HttpFailure('connection', 'the server answered a different byte range; restarting the download', response.url);
      }
    } else {
      offset = 0;
      const length = headerValue(response.headers, 'content-length');
      if (size === undefined && length && /^\d+$/.test(length)) size = Number(length);
    }

    task ??= progress.start(request.label, size ?? 0, 'bytes');
    let done = offset;
    task.update(done);
    // Each chunk is written synchronously as it arrives, so a connection that breaks keeps every
    // byte it delivered (an async reader would lose what was buffered when the socket closed).
    const fd = openSync(partial, append ? 'a' : 'w');
    let writeError: unknown;
    try {
      response.body.on('data', (chunk: Buffer) => {
        if (writeError) return;
        try {
          writeSync(fd, chunk);
        } catch (error) {
          writeError = error;
          response.body.destroy(error as Error);
          return;
        }
        done += chunk.length;
        receivedBytes += chunk.length;
        task!.update(done);
      });
      await finished(response.body);
    } catch (error) {
      if (writeError) throw writeError;
      throw bodyFailure(response, error, done, size);
    } finally {
      closeSync(fd);
    }
    if (writeError) throw writeError;
    if (!response.body.complete) throw bodyFailure(response, undefined, done, size);
    const have = await fileSize(partial);
    if (size !== undefined && have < size) throw bodyFailure(response, undefined, have, size);
  });

  const actualSize = await fileSize(partial);
  if (size !== undefined && actualSize !== size) {
    await unlink(partial).catch(() => undefined);
    throw new VerificationFailure(`size mismatch: expected ${size} bytes, got ${actualSize}`, String(size), String(actualSize));
  }
  const actualSha = await sha256OfFile(partial);
  if (sha256 !== undefined && actualSha !== sha256) {
    await unlink(partial).catch(() => undefined);
    task?.finish('rejected (sha256 mismatch)');
    throw new VerificationFailure(`sha256 mismatch: expected ${sha256}, got ${actualSha}`, sha256, actualSha);
  }
  await rename(partial, request.dest);
  (task ?? progress.start(request.label, actualSize, 'bytes')).finish();
  return { receivedBytes, size: actualSize, sha256: actualSha, commit };
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function unquote(value: string | undefined): string | undefined {
  return value?.replace(/^W\//, '').replace(/^"|"$/g, '');
}
