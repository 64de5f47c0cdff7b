/**
 * The HTTP app of `pmg serve` (docs/serve.md): the routes of the jobs API over a JobService, the A1111 route, health,
 * models, keywords, uploads and /openapi.json, with the API key on /v1/* and /sdapi/*, CORS only when configured,
 * body limits, and one error body for every failure. `extraRoutes` mounts other sub-apps (the dataset routes at
 * /v1/datasets, the web app at /) under the same auth and error handling.
 */
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { PmgError } from '../errors/pmg-error.js';
import type { JobService } from '../service/job-types.js';
import { a1111Routes } from './a1111-route.js';
import { requireApiKey } from './api-key.js';
import { generationRoutes } from './generation-routes.js';
import { jsonError, tooLargeBody } from './http-errors.js';
import { storeJobImages } from './job-images.js';
import { openApiDocument } from './openapi.js';
import type { RemoteImageLimits } from './remote-image.js';
import { jsonBody, limitBody, requireJson } from './request-body.js';
import { imageTypes, MAX_IMAGE_BYTES, storeImage, uploadsFolder } from './upload-store.js';

export interface AppLimits {
  /** JSON bodies (default 1 MiB). */
  maxBodyBytes?: number;
  /** POST /v1/uploads (default 8 MiB). */
  maxUploadBytes?: number;
}

export interface AppOptions {
  service: JobService;
  /** PMG_API_KEY: when set, /v1/* and /sdapi/* need `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** An origin allowed by CORS (off when absent). */
  cors?: string;
  limits?: AppLimits;
  /** The service's data folder (uploads go to `<dataDir>/uploads/`). */
  dataDir: string;
  /** Fetch http(s) image URLs in histories (else they are refused). */
  allowRemoteImages?: boolean;
  remoteImageLimits?: RemoteImageLimits;
  /**
   * Sub-apps mounted as given, after the API key check (so /v1/datasets needs the key like every /v1 route); `openapi`
   * is their part of /openapi.json's `paths` (full paths as keys).
   */
  extraRoutes?: { path: string; app: Hono; openapi?: Record<string, unknown> }[];
  /** SSE heartbeat (default 15 s). */
  heartbeatMs?: number;
  /** Where server failures are logged (default: stderr). */
  log?: (message: string) => void;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export function createApp(options: AppOptions): Hono {
  const { service } = options;
  const maxBodyBytes = options.limits?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxUploadBytes = options.limits?.maxUploadBytes ?? MAX_IMAGE_BYTES;
  const log = options.log ?? ((message: string) => void process.stderr.write(`pmg serve: ${message}\n`));
  const uploadsDir = uploadsFolder(options.dataDir);
  // Images in histories become upload files before the job validator runs; the engine's own rules (soft module
  // names, upload paths only, no client decoder or LLM body) are applied by service.submit.
  const prepare = (body: unknown): Promise<unknown> =>
    storeJobImages(body, {
      uploadsDir,
      allowRemoteImages: options.allowRemoteImages ?? false,
      ...(options.remoteImageLimits ? { remoteLimits: options.remoteImageLimits } : {}),
    });

  const app = new Hono();
  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      if (error.status === 413) return c.json(tooLargeBody(maxBodyBytes), 413);
      if (error.status === 400) return c.json({ error: { code: 'invalid-input', message: `the body is not valid JSON (${error.message})` } }, 400);
    }
    return jsonError(c, error, log);
  });
  app.notFound((c) => c.json({ error: { code: 'not-found', message: `no route ${c.req.method} ${c.req.path}` } }, 404));

  if (options.cors)
    app.use('*', cors({ origin: options.cors, allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'], exposeHeaders: ['Retry-After', 'Location'] }));
  if (options.apiKey) {
    app.use('/v1/*', requireApiKey(options.apiKey));
    app.use('/sdapi/*', requireApiKey(options.apiKey));
  }

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', (c) => (service.ready() ? c.json({ ready: true, ...service.stats() }) : c.json({ ready: false, ...service.stats() }, 503)));
  app.get('/openapi.json', (c) => c.json(openApiDocument(Object.assign({}, ...(options.extraRoutes ?? []).map((r) => r.openapi ?? {})))));
  app.get('/v1/models', (c) => c.json(service.models()));
  app.post('/v1/keywords', limitBody(maxBodyBytes), requireJson, async (c) => c.json((await service.keywords(await prepare(await jsonBody(c)))) as object));
  app.post('/v1/uploads', limitBody(maxUploadBytes), async (c) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!(type in imageTypes))
      throw new PmgError('invalid-input', `send the image bytes with Content-Type ${Object.keys(imageTypes).join(', ')} (got '${type || 'none'}')`);
    const path = await storeImage(uploadsDir, new Uint8Array(await c.req.arrayBuffer()), 'body');
    return c.json({ path }, 201);
  });
  app.route('/v1/generations', generationRoutes({ service, maxBodyBytes, prepare, ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}) }));
  app.route('/sdapi/v1', a1111Routes(service, maxBodyBytes));
  for (const extra of options.extraRoutes ?? []) app.route(extra.path, extra.app);
  return app;
}
