/**
 * A real HTTP server on 127.0.0.1 that behaves like the Hugging Face hub for the parts pmg uses,
 * for tests and local mirrors:
 *   GET/HEAD <url>/<owner>/<name>/resolve/<revision>/<path>  — small files directly (200, Range
 *     supported); "LFS" files answer 302 to a second listener (the "CDN", another origin, so a
 *     client must drop its Authorization header) with X-Linked-Size / X-Linked-Etag (sha256).
 *     Every answer carries X-Repo-Commit and an ETag.
 *   GET <url>/api/models/<owner>/<name>[/revision/<revision>][?blobs=true] — the listing
 *     (`sha`, `siblings: [{ rfilename, size?, lfs? }]`).
 * Faults can be injected (a status K times, a dropped connection after N bytes, a delay, a stall,
 * a corrupted body) and every request is recorded.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, sep } from 'node:path';

export interface HubServerOptions {
  /** When set, the hub routes (not the CDN) answer 401 unless `Authorization: Bearer <token>`. */
  token?: string;
  /** Which files live in "LFS" and are redirected to the CDN; default: weight-like extensions. */
  isLfs?: (path: string, size: number) => boolean;
}

export type HubRoute = 'api' | 'resolve' | 'cdn' | 'unknown';

export interface HubRequestRecord {
  method: string;
  /** Path and query as requested. */
  url: string;
  server: 'hub' | 'cdn';
  route: HubRoute;
  repo?: string;
  revision?: string;
  file?: string;
  /** The Range header, when sent. */
  range?: string;
  authorization?: string;
  status: number;
}

export interface HubFaultMatch {
  repo?: string;
  file?: string;
  route?: HubRoute;
}

/**
 * `status`: answer with this status; `delay`: wait `ms` before answering; `drop`: send the headers
 * and `afterBytes` bytes of the body, then cut the connection; `stall`: send `afterBytes` bytes,
 * wait `ms`, then the rest; `corrupt`: flip one byte of the body (same size). Body faults apply
 * only to answers that carry file content (not redirects, listings or HEAD).
 * Each fault fires `times` times (default 1; Infinity for always) on requests that fit `match`.
 */
export type HubFault = { match?: HubFaultMatch; times?: number } & (
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  | { kind: 'delay'; ms: number }
  | { kind: 'drop'; afterBytes: number }
  | { kind: 'stall'; afterBytes: number; ms: number }
  | { kind: 'corrupt' }
);

interface StoredFile {
  content: Buffer;
  sha256: string;
  gitSha1: string;
  lfs: boolean;
}

interface RepoVersion {
  commit: string;
  files: Map<string, StoredFile>;
}

const lfsExtensions = /\.(onnx|onnx_data|data|bin|safetensors|gguf|pt|pth|ckpt|h5|msgpack|npz|tflite|ot)$/i;

export class HubServer {
  readonly requests: HubRequestRecord[] = [];
  private readonly repos = new Map<string, Map<string, RepoVersion>>();
  private readonly blobs = new Map<string, Buffer>();
  private faults: Array<HubFault & { left: number }> = [];
  private hubBase = '';
  private cdnBase = '';

  private constructor(
    private readonly options: HubServerOptions,
    private readonly hub: http.Server,
    private readonly cdn: http.Server,
  ) {}

  static async start(options: HubServerOptions = {}): Promise<HubServer> {
    const hub = http.createServer();
    const cdn = http.createServer();
    const server = new HubServer(options, hub, cdn);
    hub.on('request', (req, res) => void server.handle('hub', req, res));
    cdn.on('request', (req, res) => void server.handle('cdn', req, res));
    server.hubBase = await listen(hub);
    server.cdnBase = await listen(cdn);
    return server;
  }

  /** The endpoint to give pmg (as HF_ENDPOINT), e.g. http://127.0.0.1:40123. */
  get url(): string {
    return this.hubBase;
  }

  get cdnUrl(): string {
    return this.cdnBase;
  }

  /** Serves `files` (repo path → content) as `id` at `revision` (default 'main'); returns its commit sha. */
  addRepo(id: string, files: Record<string, string | Uint8Array>, options: { revision?: string } = {}): { commit: string } {
    const stored = new Map<string, StoredFile>();
    for (const [path, value] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const content = Buffer.from(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
      const sha256 = createHash('sha256').update(content).digest('hex');
      const gitSha1 = createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
      const lfs = (this.options.isLfs ?? ((p: string) => lfsExtensions.test(p)))(path, content.length);
      stored.set(path, { content, sha256, gitSha1, lfs });
      this.blobs.set(sha256, content);
    }
    const commitHash = createHash('sha1').update(`${id}@${options.revision ?? 'main'}\n`);
    for (const [path, file] of stored) commitHash.update(`${path} ${file.sha256}\n`);
    const commit = commitHash.digest('hex');
    const versions = this.repos.get(id) ?? new Map<string, RepoVersion>();
    versions.set(options.revision ?? 'main', { commit, files: stored });
    this.repos.set(id, versions);
    return { commit };
  }

  /** Serves every file under `dir` (recursively) as `id`. */
  async addFolder(id: string, dir: string, options: { revision?: string } = {}): Promise<{ commit: string }> {
    const files: Record<string, Uint8Array> = {};
    const visit = async (folder: string): Promise<void> => {
      for (const entry of await readdir(folder, { withFileTypes: true })) {
        const path = join(folder, entry.name);
        if (entry.isDirectory()) await visit(path);
        else if (entry.isFile()) files[relative(dir, path).split(sep).join('/')] = await readFile(path);
      }
    };
    await visit(dir);
    return this.addRepo(id, files, options);
  }

  inject(fault: HubFault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Number of recorded requests that fit `filter` (all fields optional). */
  count(filter: Partial<Pick<HubRequestRecord, 'method' | 'route' | 'repo' | 'file' | 'server'>> = {}): number {
    return this.requests.filter((r) => Object.entries(filter).every(([key, value]) => r[key as keyof HubRequestRecord] === value)).length;
  }

  async close(): Promise<void> {
    for (const server of [this.hub, this.cdn]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private async handle(server: 'hub' | 'cdn', req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const record: HubRequestRecord = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      server,
      route: 'unknown',
      range: header(req, 'range'),
      authorization: header(req, 'authorization'),
      status: 0,
    };
    this.requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));
    res.on('close', () => (record.status ||= res.statusCode));
    try {
      const target = server === 'cdn' ? this.routeCdn(url, record) : this.routeHub(url, record);
      const fault = this.takeFault(record, false);
      if (fault?.kind === 'delay') {
        // Ends early when the client gives up, so no timer outlives the test that set it.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, fault.ms);
          res.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        if (res.destroyed || res.writableEnded) return;
      } else if (fault?.kind === 'status') {
        return sendError(res, fault.status, `injected ${fault.status}`, undefined, fault.headers);
      }
      if (server === 'hub' && this.options.token && record.authorization !== `Bearer ${this.options.token}`) {
        return sendError(res, 401, 'Invalid credentials in Authorization header', 'Unauthorized');
      }
      if (!target) return sendError(res, 404, 'Not Found');
      if ('error' in target) return sendError(res, 404, target.error, target.code);
      if ('listing' in target) return sendJson(res, target.listing);
      this.sendFile(req, res, record, target);
    } catch (error) {
      sendError(res, 500, (error as Error).message);
    }
  }

  private routeHub(url: URL, record: HubRequestRecord): Target | undefined {
    const parts = url.pathname.split('/').slice(1);
    if (parts[0] === 'api' && parts[1] === 'models' && parts.length >= 4) {
      record.route = 'api';
      const repo = `${decode(parts[2])}/${decode(parts[3])}`;
      const revision = parts[4] === 'revision' && parts[5] ? decode(parts[5]) : 'main';
      Object.assign(record, { repo, revision });
      const found = this.lookup(repo, revision);
      if ('error' in found) return found;
      const blobs = url.searchParams.get('blobs') === 'true';
      const siblings = [...found.files].map(([rfilename, file]) => {
        if (!blobs) return { rfilename };
        const lfs = file.lfs ? { lfs: { sha256: file.sha256, size: file.content.length, pointerSize: 134 } } : {};
        return { rfilename, blobId: file.gitSha1, size: file.content.length, ...lfs };
      });
      return { listing: { id: repo, modelId: repo, sha: found.commit, private: false, siblings } };
    }
    if (parts.length >= 5 && parts[2] === 'resolve') {
      record.route = 'resolve';
      const repo = `${decode(parts[0])}/${decode(parts[1])}`;
      const revision = decode(parts[3]);
      const path = parts.slice(4).map(decode).join('/');
      Object.assign(record, { repo, revision, file: path });
      const found = this.lookup(repo, revision);
      if ('error' in found) return found;
      const file = found.files.get(path);
      if (!file) return { error: `Entry not found: ${path}`, code: 'EntryNotFound' };
      if (file.lfs) {
        const location = `${this.cdnBase}/cdn/${file.sha256}?repo=${encodeURIComponent(repo)}&file=${encodeURIComponent(path)}`;
        return { redirect: location, file, commit: found.commit };
      }
      return { file, commit: found.commit };
    }
    return undefined;
  }

  private routeCdn(url: URL, record: HubRequestRecord): Target | undefined {
    const match = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    if (!match) return undefined;
    record.route = 'cdn';
    record.repo = url.searchParams.get('repo') ?? undefined;
    record.file = url.searchParams.get('file') ?? undefined;
    const content = this.blobs.get(match[1]!);
    if (!content) return { error: 'blob not found', code: 'EntryNotFound' };
    return { file: { content, sha256: match[1]!, gitSha1: '', lfs: true } };
  }

  private lookup(repo: string, revision: string): RepoVersion | { error: string; code: string } {
    const versions = this.repos.get(repo);
    if (!versions) return { error: `Repository not found: ${repo}`, code: 'RepoNotFound' };
    const version = versions.get(revision) ?? [...versions.values()].find((v) => v.commit === revision);
    if (!version) return { error: `Invalid rev id: ${revision}`, code: 'RevisionNotFound' };
    return version;
  }

  private takeFault(record: HubRequestRecord, body: boolean): HubFault | undefined {
    const bodyKinds = ['drop', 'stall', 'corrupt'];
    const fault = this.faults.find((f) => {
      if (f.left <= 0 || bodyKinds.includes(f.kind) !== body) return false;
      const m = f.match ?? {};
      return (!m.repo || m.repo === record.repo) && (!m.file || m.file === record.file) && (!m.route || m.route === record.route);
    });
    if (fault) fault.left--;
    return fault;
  }

  private sendFile(req: http.IncomingMessage, res: http.ServerResponse, record: HubRequestRecord, target: FileTarget): void {
    const { file } = target;
    const headers: Record<string, string> = { 'Accept-Ranges': 'bytes' };
    if (target.commit) headers['X-Repo-Commit'] = target.commit;
    headers.ETag = `"${file.lfs ? file.sha256 : file.gitSha1}"`;
    if (target.redirect) {
      headers['X-Linked-Size'] = String(file.content.length);
      headers['X-Linked-Etag'] = `"${file.sha256}"`;
      headers.Location = target.redirect;
      res.writeHead(302, headers);
      return void res.end();
    }
    let body = file.content;
    let status = 200;
    const range = record.range ? /^bytes=(\d+)-(\d*)$/.exec(record.range) : null;
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      if (start >= body.length || start > end) {
        res.writeHead(416, { ...headers, 'Content-Range': `bytes */${body.length}` });
        return void res.end();
      }
      headers['Content-Range'] = `bytes ${start}-${end}/${body.length}`;
      body = body.subarray(start, end + 1);
      status = 206;
    }
    headers['Content-Length'] = String(body.length);
    headers['Content-Type'] = 'application/octet-stream';
    if (req.method === 'HEAD') {
      res.writeHead(status, headers);
      return void res.end();
    }
    const fault = this.takeFault(record, true);
    res.writeHead(status, headers);
    if (fault?.kind === 'corrupt' && body.length > 0) {
      body = Buffer.from(body);
      body[body.length >> 1] ^= 0xff;
    }
    if (fault?.kind === 'drop') {
      res.write(body.subarray(0, Math.min(fault.afterBytes, body.length)), () => res.socket?.destroy());
      return;
    }
    if (fault?.kind === 'stall') {
      res.write(body.subarray(0, Math.min(fault.afterBytes, body.length)));
      const timer = setTimeout(() => res.end(body.subarray(Math.min(fault.afterBytes, body.length))), fault.ms);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    res.end(body);
  }
}

type FileTarget = { file: StoredFile; commit?: string; redirect?: string };
type Target = FileTarget | { listing: unknown } | { error: string; code: string };

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function decode(part: string | undefined): string {
  try {
    return decodeURIComponent(part ?? '');
  } catch {
    return part ?? '';
  }
}

function sendJson(res: http.ServerResponse, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
  res.end(body);
}

function sendError(res: http.ServerResponse, status: number, message: string, code?: string, extra: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify({ error: message }));
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Content-Length': String(body.length), 'X-Error-Message': message, ...extra };
  if (code) headers['X-Error-Code'] = code;
  res.writeHead(status, headers);
  res.end(body);
}
