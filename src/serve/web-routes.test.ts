import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { browserModules, CONTENT_SECURITY_POLICY, webAppDir, webAppRoutes } from './web-routes.js';
import { listenLoopback, type RunningServer } from './server.js';

let server: RunningServer;
before(async () => {
  server = await listenLoopback(webAppRoutes());
});
after(() => server.close());

/** A GET with the path sent exactly as written (fetch would normalize '..'). */
function rawGet(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const indexHtml = readFileSync(join(webAppDir(), 'index.html'), 'utf8');

test('/ and /jobs/<id> answer the page with its security headers', async () => {
  for (const path of ['/', '/jobs/j_abcdefghijklmnopqrst']) {
    const response = await rawGet(path);
    assert.equal(response.status, 200, path);
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(response.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.equal(response.headers['cache-control'], 'no-cache');
    assert.equal(response.body, indexHtml);
  }
  assert.equal((await rawGet('/jobs/a%2Fb')).status, 404);
  assert.equal((await rawGet('/jobs/')).status, 404);
});

test('/app/<file> answers each static file with its content type; a matching ETag gets 304', async () => {
  const want: Record<string, string> = {
    'app.js': 'text/javascript; charset=utf-8',
    'style.css': 'text/css; charset=utf-8',
    'index.html': 'text/html; charset=utf-8',
  };
  for (const [name, type] of Object.entries(want)) {
    const response = await rawGet(`/app/${name}`);
    assert.equal(response.status, 200, name);
    assert.equal(response.headers['content-type'], type);
    assert.equal(response.body, readFileSync(join(webAppDir(), name), 'utf8'));
    const etag = response.headers.etag as string;
    assert.match(etag, /^"[A-Za-z0-9_-]{27}"$/);
    const again = await rawGet(`/app/${name}`, { 'If-None-Match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
  }
});

test('nothing outside the page folder and the listed modules is served (no directory traversal)', async () => {
  for (const path of [
    '/app/../package.json',
    '/app/..%2Fpackage.json',
    '/app/%2e%2e%2fpackage.json',
    '/app/%2e%2e/%2e%2e/package.json',
    '/app/lib/../../package.json',
    '/app/lib/..%2F..%2Fpackage.json',
    '/app/lib/personalize/personalize.js',
    '/app/lib/scoring/selection.ts',
    '/app/lib//etc/passwd',
    '/app/.gitignore',
    '/app/missing.js',
    '/app/',
    '/package.json',
  ]) {
    const response = await rawGet(path);
    assert.ok(response.status === 404 || response.status === 400, `${path} answered ${response.status}`);
    assert.ok(!response.body.includes('"name": "pmg"') && !response.body.includes('root:'), path);
  }
});

test('a folder given to webAppRoutes serves only plain names with known extensions', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pmg-web-routes-'));
  try {
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(join(dir, 'notes.txt'), 'secret');
    writeFileSync(join(dir, '.env'), 'KEY=1');
    const other = await listenLoopback(webAppRoutes(dir));
    try {
      assert.equal((await fetch(`${other.url}/`)).status, 200);
      assert.equal((await fetch(`${other.url}/app/notes.txt`)).status, 404);
      assert.equal((await fetch(`${other.url}/app/.env`)).status, 404);
    } finally {
      await other.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** `import … from '<spec>'` and `export … from '<spec>'` specifiers of a JS module (comments stripped). */
function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...code.matchAll(/(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*\(?\s*['"]([^'"]+)['"]/gm)].map(
    (m) => m[1] ?? m[2]!,
  );
}

test("the page's modules import only files the server answers; the compiled modules only each other (no Node imports)", async () => {
  const served = new Set([...readdirSync(webAppDir()).map((n) => `/app/${n}`), ...browserModules.map((m) => `/app/lib/${m}`)]);
  let imports = 0;
  for (const name of readdirSync(webAppDir()).filter((n) => n.endsWith('.js'))) {
    for (const spec of importSpecifiers(readFileSync(join(webAppDir(), name), 'utf8'))) {
      const path = spec.startsWith('/') ? spec : posix.join('/app', spec);
      assert.ok(served.has(path), `${name} imports ${spec}, which the server does not answer`);
      imports++;
    }
  }
  assert.ok(imports >= 8, `found ${imports} imports`);
  const dist = dirname(dirname(fileURLToPath(import.meta.url)));
  for (const module of browserModules) {
    const response = await fetch(`${server.url}/app/lib/${module}`);
    assert.equal(response.status, 200, module);
    assert.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8');
    const source = await response.text();
    assert.equal(source, readFileSync(join(dist, module), 'utf8'));
    for (const spec of importSpecifiers(source)) {
      assert.ok(spec.startsWith('.'), `${module} imports '${spec}', which a browser cannot load`);
      const target = posix.join(posix.dirname(module), spec);
      assert.ok((browserModules as readonly string[]).includes(target), `${module} imports ${target}; add it to browserModules if it is browser-safe`);
    }
  }
  assert.deepEqual(importSpecifiers("import { a } from './a.js';\nexport { b } from '../b.js';\nimport 'node:fs';"), ['./a.js', '../b.js', 'node:fs']);
});

test('the page loads nothing from elsewhere: no absolute URLs in its files', () => {
  for (const name of readdirSync(webAppDir())) {
    const text = readFileSync(join(webAppDir(), name), 'utf8');
    const urls = text.match(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s'"]*/gi) ?? [];
    assert.deepEqual(urls, [], `${name} refers to ${urls.join(', ')}`);
    assert.doesNotMatch(text, /@import|url\(\s*['"]?(?:https?:)?\/\//i, name);
  }
  // Every control on the page has a label (for=) or an aria-label.
  const ids = [...indexHtml.matchAll(/<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"/g)].map((m) => m[1]!);
  for (const id of ids) {
    const labelled = indexHtml.includes(`for="${id}"`) || new RegExp(`id="${id}"[^>]*aria-label`).test(indexHtml);
    assert.ok(labelled, `control #${id} has no label`);
  }
  assert.ok(ids.length >= 15);
});
