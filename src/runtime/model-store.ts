/**
 * The model store: turns a model spec — a local folder, or a Hugging Face repo id
 * `owner/name[@revision]` — into a local folder that holds the files a loader needs.
 * Repo files are downloaded from the hub or a mirror (`HF_ENDPOINT`) into the cache once;
 * a cached file is used without touching the network, and offline mode never touches it.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { missingEntries, removeEmptyParents, safeReaddir, sizeOf, walk } from './cache-files.js';
import { homedir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { packageVersion } from '../core/package-root.js';
import { silentProgress } from '../core/progress.js';
import { PmgError } from '../errors/pmg-error.js';
import { checkRepoPath, idFromRepoFolder, matchesAny, parseModelSpec, revisionCacheDir, revisionFromFolder, type ModelSpec } from './cache-layout.js';
import { VerificationFailure, downloadFile } from './download.js';
import { DEFAULT_HUB_WAIT_MS, HttpFailure, HubHttpClient, attemptsOf, ensureOk, readBody, withRetries } from './hub-http.js';
import { readRevisionMetadata, writeRevisionMetadata, type RepoEntry, type RevisionMetadata } from './revision-metadata.js';
import { withoutUndefined, type ModelStoreOptions } from './model-store-options.js';
import type { CachedModel, PullResult, ResolveRequest, ResolvedModel } from './model-store-results.js';

export { defaultEndpoint, modelStoreOptions, modelStoreOptionsFromEnv, type ModelStoreOptions } from './model-store-options.js';
export type { CachedModel, PullResult, ResolveRequest, ResolvedModel } from './model-store-results.js';

export class ModelStore {
  readonly options: Required<Omit<ModelStoreOptions, 'token'>> & { token?: string };
  private readonly http: HubHttpClient;

  constructor(options: ModelStoreOptions) {
    const endpoint = options.endpoint.replace(/\/+$/, '');
    try {
      new URL(endpoint);
    } catch {
      throw new PmgError('invalid-argument', `hub endpoint '${options.endpoint}' is not a URL; set HF_ENDPOINT to a base URL like https://huggingface.co`);
    }
    this.options = {
      progress: silentProgress,
      timeoutMs: 30_000,
      connectTimeoutMs: DEFAULT_HUB_WAIT_MS,
      responseTimeoutMs: DEFAULT_HUB_WAIT_MS,
      retries: 3,
      timeoutRetries: 1,
      retryDelayMs: 1000,
      cwd: process.cwd(),
      homeDir: homedir(),
      ...withoutUndefined(options),
      endpoint,
    };
    this.http = new HubHttpClient({
      endpoint,
      token: options.token,
      timeoutMs: this.options.timeoutMs,
      connectTimeoutMs: this.options.connectTimeoutMs,
      responseTimeoutMs: this.options.responseTimeoutMs,
      userAgent: `pmg/${safeVersion()}`,
    });
  }

  /** Parses a spec without touching disk or network beyond checking whether a folder exists. */
  parse(spec: string): ModelSpec {
    return parseModelSpec(spec, this.options.cwd, this.options.homeDir);
  }

  async resolve(spec: string, request: ResolveRequest = {}): Promise<ResolvedModel> {
    const parsed = this.parse(spec);
    const files = (request.files ?? []).map((file) => checkRepoPath(file, 'the requested files'));
    const optional = (request.optionalFiles ?? []).map((file) => checkRepoPath(file, 'the requested files'));
    if (parsed.kind === 'local') return checkLocal(parsed.dir, parsed.spec, files);

    const dir = revisionCacheDir(this.options.cacheDir, parsed.id, parsed.revision);
    const meta = await readRevisionMetadata(dir);
    const missing = files.filter((file) => !existsSync(join(dir, file)));
    const listed = meta?.listing ? new Set(meta.listing.map((entry) => entry.path)) : undefined;
    const knownAbsent = new Set(meta?.absent ?? []);
    const optionalMissing = optional.filter((file) => !existsSync(join(dir, file)) && !knownAbsent.has(file) && (!listed || listed.has(file)));
    const result: ResolvedModel = { dir, id: parsed.id, revision: parsed.revision, local: false, commit: meta?.commit };
    if (missing.length === 0 && (optionalMissing.length === 0 || this.options.offline)) return result;
    if (this.options.offline) throw this.offlineError(parsed, missing, dir);

    const byPath = new Map((meta?.listing ?? []).map((entry) => [entry.path, entry]));
    const absent: string[] = [];
    let commit = meta?.commit;
    for (const file of missing) commit = (await this.download(parsed, file, byPath.get(file), false)).commit ?? commit;
    for (const file of optionalMissing) {
      const outcome = await this.download(parsed, file, byPath.get(file), true);
      if (outcome.absent) absent.push(file);
      commit = outcome.commit ?? commit;
    }
    await this.updateMetadata(dir, parsed, { commit, absent });
    return { ...result, commit };
  }

  async pull(spec: string, options: { include?: string[] } = {}): Promise<PullResult> {
    const parsed = this.parse(spec);
    if (parsed.kind === 'local') {
      throw new PmgError('invalid-argument', `'${spec}' is a local folder; 'pull' takes a hub repo id like owner/name[@revision]`);
    }
    const include = options.include?.length ? options.include : undefined;
    const dir = revisionCacheDir(this.options.cacheDir, parsed.id, parsed.revision);
    const meta = await readRevisionMetadata(dir);
    if (meta?.listing) {
      const wanted = meta.listing.filter((entry) => !include || matchesAny(entry.path, include));
      checkIncludeMatched(parsed, include, wanted, meta.listing.length);
      const missing = await missingEntries(dir, wanted);
      if (missing.length === 0) {
        const files = wanted.map((e) => e.path);
        return {
          dir,
          id: parsed.id,
          revision: parsed.revision,
          local: false,
          commit: meta.commit,
          downloadedBytes: 0,
          files,
          totalBytes: await sizeOf(dir, files),
        };
      }
      if (this.options.offline)
        throw this.offlineError(
          parsed,
          missing.map((e) => e.path),
          dir,
          include,
        );
    } else if (this.options.offline) {
      throw this.offlineError(parsed, [], dir, include);
    }

    const listing = await this.fetchListing(parsed);
    const wanted = listing.entries.filter((entry) => !include || matchesAny(entry.path, include));
    checkIncludeMatched(parsed, include, wanted, listing.entries.length);
    let downloadedBytes = 0;
    for (const entry of await missingEntries(dir, wanted)) {
      downloadedBytes += (await this.download(parsed, entry.path, entry, false)).receivedBytes;
    }
    await this.updateMetadata(dir, parsed, { commit: listing.commit, listing: listing.entries });
    const files = wanted.map((e) => e.path);
    return {
      dir,
      id: parsed.id,
      revision: parsed.revision,
      local: false,
      commit: listing.commit,
      downloadedBytes,
      files,
      totalBytes: await sizeOf(dir, files),
    };
  }

  async list(): Promise<CachedModel[]> {
    const root = join(this.options.cacheDir, 'models');
    const out: CachedModel[] = [];
    for (const repoFolder of await safeReaddir(root)) {
      const id = idFromRepoFolder(repoFolder);
      if (!id) continue;
      for (const revisionFolder of await safeReaddir(join(root, repoFolder))) {
        const dir = join(root, repoFolder, revisionFolder);
        if (!(await stat(dir)).isDirectory()) continue;
        const totals = { files: 0, bytes: 0, incompleteBytes: 0 };
        await walk(dir, totals);
        const meta = await readRevisionMetadata(dir);
        out.push({ id, revision: revisionFromFolder(revisionFolder), dir, ...totals, commit: meta?.commit });
      }
    }
    return out.sort((a, b) => a.id.localeCompare(b.id) || a.revision.localeCompare(b.revision));
  }

  private fileUrl(spec: HubSpec, file: string): string {
    const path = file.split('/').map(encodeURIComponent).join('/');
    return `${this.options.endpoint}/${spec.id}/resolve/${encodeURIComponent(spec.revision)}/${path}`;
  }

  private where(spec: HubSpec): string {
    return `${spec.id}@${spec.revision} at ${this.options.endpoint}`;
  }

  private async download(
    spec: HubSpec,
    file: string,
    entry: RepoEntry | undefined,
    optional: boolean,
  ): Promise<{ receivedBytes: number; commit?: string; absent?: boolean }> {
    const dir = revisionCacheDir(this.options.cacheDir, spec.id, spec.revision);
    const dest = join(dir, file);
    try {
      const result = await downloadFile(
        { url: this.fileUrl(spec, file), dest, expectedSize: entry?.size, expectedSha256: entry?.sha256, label: `${spec.id} ${file}` },
        this.http,
        this.options,
        this.options.progress,
      );
      return { receivedBytes: result.receivedBytes, commit: result.commit };
    } catch (error) {
      if (optional && error instanceof HttpFailure && error.status === 404) {
        await removeEmptyParents(dirname(dest), this.options.cacheDir);
        return { receivedBytes: 0, absent: true };
      }
      if (error instanceof VerificationFailure) {
        await removeEmptyParents(dirname(dest), this.options.cacheDir);
        throw new PmgError(
          'download-failed',
          `${file} from ${this.where(spec)} is corrupt (${error.message}); it was removed from the cache, run the command again`,
          {
            details: { repo: spec.id, revision: spec.revision, file, expected: error.expected, actual: error.actual },
          },
        );
      }
      throw this.httpError(error, spec, file);
    }
  }

  private async fetchListing(spec: HubSpec): Promise<{ commit?: string; entries: RepoEntry[] }> {
    const url = `${this.options.endpoint}/api/models/${spec.id}/revision/${encodeURIComponent(spec.revision)}?blobs=true`;
    let body: Buffer;
    try {
      body = await withRetries(this.options, async () => {
        const response = await this.http.request('GET', url, { Accept: 'application/json' });
        await ensureOk(response);
        return readBody(response);
      });
    } catch (error) {
      throw this.httpError(error, spec, undefined);
    }
    let parsed: { sha?: unknown; siblings?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      throw new PmgError('invalid-response', `the file listing of ${this.where(spec)} is not JSON; check HF_ENDPOINT points at a hub or mirror`, {
        details: { url },
      });
    }
    if (!Array.isArray(parsed.siblings)) {
      throw new PmgError('invalid-response', `the file listing of ${this.where(spec)} has no 'siblings' array; check HF_ENDPOINT points at a hub or mirror`, {
        details: { url },
      });
    }
    const entries: RepoEntry[] = [];
    for (const sibling of parsed.siblings as Array<{ rfilename?: unknown; size?: unknown; lfs?: { sha256?: unknown; size?: unknown } }>) {
      if (typeof sibling?.rfilename !== 'string') continue;
      const path = checkRepoPath(sibling.rfilename, `the listing of ${this.where(spec)}`);
      const size = typeof sibling.lfs?.size === 'number' ? sibling.lfs.size : typeof sibling.size === 'number' ? sibling.size : undefined;
      const sha256 = typeof sibling.lfs?.sha256 === 'string' && /^[0-9a-f]{64}$/i.test(sibling.lfs.sha256) ? sibling.lfs.sha256.toLowerCase() : undefined;
      entries.push({ path, size, sha256 });
    }
    return { commit: typeof parsed.sha === 'string' ? parsed.sha : undefined, entries };
  }

  private httpError(error: unknown, spec: HubSpec, file: string | undefined): PmgError {
    if (!(error instanceof HttpFailure)) {
      if (error instanceof PmgError) return error;
      return new PmgError(
        'download-failed',
        `could not write ${file ?? 'files'} of ${spec.id} into the cache ${this.options.cacheDir}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const what = file ?? 'the file listing';
    const details = {
      repo: spec.id,
      revision: spec.revision,
      file,
      endpoint: this.options.endpoint,
      url: error.url,
      status: error.status,
      stage: error.stage,
      attempts: attemptsOf(error),
    };
    if (error.status === 404) {
      const code = `${error.hubErrorCode ? ` (${error.hubErrorCode})` : ''}${error.hubErrorCode === 'RepoNotFound' ? this.noFolderHint(spec) : ''}`;
      const message = file ? `not found: ${file} in ${this.where(spec)}${code}` : `not found: ${this.where(spec)}${code}; check the repo id and revision`;
      return new PmgError('model-not-found', message, { details, cause: error });
    }
    if (error.status === 401 || error.status === 403) {
      const hint = this.options.token
        ? 'the token in HF_TOKEN was refused; check it can read this repo (and that you accepted its licence if it is gated)'
        : 'the repo may be private or gated (or not exist); set HF_TOKEN to a token that can read it';
      return new PmgError('model-not-found', `access denied (HTTP ${error.status}) to ${what} of ${this.where(spec)}${this.noFolderHint(spec)}: ${hint}`, {
        details,
        cause: error,
      });
    }
    const attempts = attemptsOf(error);
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    if (error.kind === 'timeout') {
      const raise = error.waitedInVain ? ' (PMG_HUB_TIMEOUT raises the wait)' : '';
      return new PmgError('timeout', `timed out fetching ${what} of ${this.where(spec)}${tries}: ${error.message}; check the network or HF_ENDPOINT${raise}`, {
        details,
        cause: error,
        isRetryable: true,
      });
    }
    return new PmgError('download-failed', `download of ${what} from ${this.where(spec)} failed${tries}: ${error.message}`, {
      details,
      cause: error,
      isRetryable: error.retryable,
    });
  }

  /** A repo id that fails may have been meant as a folder: say that there is none. */
  private noFolderHint(spec: HubSpec): string {
    return ` (no local folder ${resolvePath(this.options.cwd, spec.spec)} either)`;
  }

  private offlineError(spec: HubSpec, missing: string[], dir: string, include?: string[]): PmgError {
    const shown = missing.length > 8 ? `${missing.slice(0, 8).join(', ')} and ${missing.length - 8} more` : missing.join(', ');
    const what = missing.length
      ? `${spec.id}@${spec.revision} is missing ${shown} in the cache ${dir}`
      : `${spec.id}@${spec.revision} has not been pulled into the cache ${dir}`;
    const revisionFlag = spec.revision === 'main' ? '' : ` --revision ${spec.revision}`;
    const includeFlags = include ? include.map((p) => ` --include '${p}'`).join('') : '';
    return new PmgError(
      'offline',
      `offline mode: ${what}; fetch it with 'pmg models pull ${spec.id}${revisionFlag}${includeFlags}' while online (offline mode comes from the offline setting, PMG_OFFLINE or HF_HUB_OFFLINE)`,
      {
        details: { repo: spec.id, revision: spec.revision, missing, cacheDir: this.options.cacheDir },
      },
    );
  }

  private async updateMetadata(dir: string, spec: HubSpec, update: { commit?: string; absent?: string[]; listing?: RepoEntry[] }): Promise<void> {
    if (!existsSync(dir) && !update.listing && !update.absent?.length) return;
    const previous = await readRevisionMetadata(dir);
    const next: RevisionMetadata = {
      id: spec.id,
      revision: spec.revision,
      commit: update.commit ?? previous?.commit,
      endpoint: this.options.endpoint,
      listing: update.listing ?? previous?.listing,
      absent: [...new Set([...(previous?.absent ?? []), ...(update.absent ?? [])])].sort(),
      updatedAt: new Date().toISOString(),
    };
    await writeRevisionMetadata(dir, next);
  }
}

type HubSpec = Extract<ModelSpec, { kind: 'hub' }>;

function checkIncludeMatched(spec: HubSpec, include: string[] | undefined, wanted: RepoEntry[], total: number): void {
  if (!include || wanted.length > 0) return;
  throw new PmgError(
    'model-file-missing',
    `no file of ${spec.id}@${spec.revision} matches ${include.map((p) => `'${p}'`).join(', ')} (it has ${total} files)`,
    {
      details: { repo: spec.id, revision: spec.revision, include },
    },
  );
}

async function checkLocal(dir: string, spec: string, files: string[]): Promise<ResolvedModel> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new PmgError('file-not-found', `model folder ${dir} does not exist (from '${spec}'); give an existing folder or a hub repo id like owner/name`, {
      details: { dir },
    });
  }
  if (!info.isDirectory())
    throw new PmgError('model-layout', `model path ${dir} is a file, not a folder; give the folder that holds the model files`, { details: { dir } });
  for (const file of files) {
    if (!existsSync(join(dir, file))) {
      throw new PmgError('model-file-missing', `model folder ${dir} has no ${file}; it is needed to load this model`, { details: { dir, file } });
    }
  }
  return { dir, id: spec, revision: undefined, local: true };
}

function safeVersion(): string {
  try {
    return packageVersion();
  } catch {
    return 'dev';
  }
}
