/**
 * The jobs API: `POST /v1/generations`, the list, one record, its events (SSE), cancel, its images and its
 * result.json. Ids and image names are checked against their patterns before the engine is asked, and files are
 * only ever the paths the engine returns for them (never a path built from client text).
 */
import { readFile } from 'node:fs/promises';
import { Hono } from 'hono';
import { sValidator } from '@hono/standard-validator';
import { PmgError } from '../errors/pmg-error.js';
import type { JobRecord, JobService } from '../service/job-types.js';
import { notFound } from './http-errors.js';
import { generationJobValidator } from './job-schema.js';
import { limitBody, requireJson, validationHook } from './request-body.js';
import { jobEventStream, resumeAfter } from './sse.js';

/** 'j_' + 20 lowercase base32 characters. */
export const JOB_ID = /^j_[a-z2-7]{20}$/;
/** Image file names: `<name>.png` with the engine's names. */
const IMAGE_FILE = /^([a-z0-9-]+)\.png$/;

export interface GenerationRouteOptions {
  service: JobService;
  maxBodyBytes: number;
  /** Server rules and image storing before the job validator (see job-images.ts). */
  prepare: (body: unknown) => Promise<unknown>;
  heartbeatMs?: number;
}

/** The links of a job under `/v1/generations`. */
export function jobLinks(id: string): { self: string; events: string; result: string } {
  const self = `/v1/generations/${id}`;
  return { self, events: `${self}/events`, result: `${self}/result.json` };
}

export function generationRoutes(options: GenerationRouteOptions): Hono {
  const { service } = options;
  const app = new Hono();
  const record = (id: string): JobRecord => {
    const found = JOB_ID.test(id) ? service.get(id) : undefined;
    if (!found) throw notFound(`job '${id}'`);
    return found;
  };

  app.post('/', limitBody(options.maxBodyBytes), requireJson, sValidator('json', generationJobValidator(options.prepare), validationHook), (c) => {
    const job = service.submit('generation', c.req.valid('json'));
    c.header('Location', jobLinks(job.id).self);
    return c.json({ id: job.id, state: job.state, links: jobLinks(job.id) }, 202);
  });

  app.get('/', (c) => {
    const limitText = c.req.query('limit');
    const limit = limitText === undefined ? 20 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw new PmgError('invalid-input', `limit must be a whole number from 1 to 100, got '${limitText}'`, { details: { field: 'limit' } });
    const before = c.req.query('before');
    if (before !== undefined && !JOB_ID.test(before))
      throw new PmgError('invalid-input', `before must be a job id (j_ and 20 letters or digits), got '${before}'`, { details: { field: 'before' } });
    return c.json({ jobs: service.list({ limit, ...(before ? { before } : {}) }) });
  });

  app.get('/:id', (c) => c.json(record(c.req.param('id'))));

  app.delete('/:id', (c) => {
    const id = record(c.req.param('id')).id;
    return c.json(service.cancel(id) ?? record(id));
  });

  app.get('/:id/events', (c) => {
    const id = record(c.req.param('id')).id;
    const after = resumeAfter(c.req.header('last-event-id'), c.req.query('lastEventId'));
    const stream = jobEventStream(service, id, after, { signal: c.req.raw.signal, ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}) });
    return new Response(stream, {
      headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' },
    });
  });

  app.get('/:id/images/:file', async (c) => {
    const id = record(c.req.param('id')).id;
    const name = IMAGE_FILE.exec(c.req.param('file'))?.[1];
    const path = name === undefined ? undefined : service.imageFile(id, name);
    if (!path) throw notFound(`image '${c.req.param('file')}' of job ${id}`);
    // Previews are rewritten during the job; finished images never change.
    const cache = name!.startsWith('preview-') ? 'no-cache' : 'private, max-age=31536000, immutable';
    return c.body(await readFile(path), 200, { 'Content-Type': 'image/png', 'Cache-Control': cache });
  });

  app.get('/:id/result.json', async (c) => {
    const id = record(c.req.param('id')).id;
    const path = service.resultFile(id);
    if (!path) throw notFound(`result.json of job ${id} (it has none until the job is done)`);
    return c.body(await readFile(path), 200, { 'Content-Type': 'application/json', 'Content-Disposition': `attachment; filename="${id}-result.json"` });
  });

  return app;
}
