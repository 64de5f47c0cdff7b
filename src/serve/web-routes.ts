/**
 * The web app's routes (docs/serve.md "The web app"): `/` and `/jobs/{id}` answer the page (web/app/index.html),
 * `/app/<file>` its static files (web/app/ in the package), and `/app/lib/<path>.js` the few compiled modules the page
 * imports to re-rank candidates with the selection's own maths (dist/, listed in `browserModules`).
 *
 * Only names in those folders' listings are served (no path is joined from the URL), with their content type,
 * `Cache-Control: no-cache` and an ETag (a reload revalidates and gets 304), `X-Content-Type-Options: nosniff`, and
 * on the page a Content-Security-Policy that allows nothing from elsewhere.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import { assetPath } from '../core/package-root.js';

/** Compiled modules the page imports (from dist/, by their path there); web-routes.test.ts checks they import only each other. */
export const browserModules = ['serve/web-alpha-ranking.js', 'scoring/selection.js', 'errors/pmg-error.js'] as const;

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

interface StaticFile {
  body: Uint8Array;
  type: string;
  etag: string;
}

/** The folder of the page's files: `web/app` in the package. */
export function webAppDir(): string {
  return assetPath('web', 'app');
}

/** The compiled dist/ folder this module runs from. */
function distDir(): string {
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

function staticFile(path: string): StaticFile {
  const body = readFileSync(path);
  const type = contentTypes[extname(path)] ?? 'application/octet-stream';
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** The page's files, read once: name → file, only plain names with a known extension. */
function appFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir)) {
    if (/^[a-z0-9][a-z0-9-]*\.[a-z]+$/.test(name) && contentTypes[extname(name)]) files.set(name, staticFile(join(dir, name)));
  }
  return files;
}

function send(c: Context, file: StaticFile | undefined, extra: Record<string, string> = {}): Response {
  if (!file) return c.json({ error: { code: 'not-found', message: `no such file: ${c.req.path.slice(0, 200)}` } }, 404);
  const headers: Record<string, string> = {
    'Content-Type': file.type,
    'Cache-Control': 'no-cache',
    ETag: file.etag,
    'X-Content-Type-Options': 'nosniff',
    ...extra,
  };
  const match = c.req.header('If-None-Match');
  if (match && match.split(',').some((tag) => tag.trim() === file.etag)) return new Response(null, { status: 304, headers });
  if (c.req.method === 'HEAD') return new Response(null, { status: 200, headers: { ...headers, 'Content-Length': String(file.body.length) } });
  return new Response(file.body, { status: 200, headers });
}

/** A Hono app with `/`, `/jobs/:id`, `/app/*` (GET and HEAD); files are read on first use and kept. */
export function webAppRoutes(dir: string = webAppDir()): Hono {
  let files: Map<string, StaticFile> | undefined;
  let lib: Map<string, StaticFile> | undefined;
  const app = (): Map<string, StaticFile> => (files ??= appFiles(dir));
  const modules = (): Map<string, StaticFile> => (lib ??= new Map(browserModules.map((m) => [m, staticFile(join(distDir(), m))])));
  const page = (c: Context) => send(c, app().get('index.html'), { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'Referrer-Policy': 'no-referrer' });

  const routes = new Hono();
  routes.get('/', page);
  routes.get('/jobs/:id{[A-Za-z0-9_-]{1,64}}', page);
  routes.get('/app/lib/*', (c) => send(c, modules().get(c.req.path.slice('/app/lib/'.length))));
  routes.get('/app/:name', (c) => send(c, app().get(c.req.param('name'))));
  return routes;
}
