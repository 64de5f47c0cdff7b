/**
 * `POST /sdapi/v1/txt2img` for AUTOMATIC1111 clients: submits a txt2img job, waits for it (a client that goes away
 * cancels it) and answers A1111's response shape with the images as base64 PNG.
 */
import { readFile } from 'node:fs/promises';
import { Hono } from 'hono';
import { sValidator } from '@hono/standard-validator';
import { PmgError, type PmgErrorCode } from '../errors/pmg-error.js';
import type { JobService } from '../service/job-types.js';
import { a1111Error, a1111Response, a1111ToJob } from './a1111.js';
import { a1111Txt2ImgSchema } from './job-schema.js';
import { limitBody, requireJson, validationHook } from './request-body.js';

export function a1111Routes(service: JobService, maxBodyBytes: number): Hono {
  const app = new Hono();
  app.post('/txt2img', limitBody(maxBodyBytes), requireJson, sValidator('json', a1111Txt2ImgSchema, validationHook), async (c) => {
    const body = c.req.valid('json');
    const job = a1111ToJob(body);
    let id: string;
    try {
      id = service.submit('txt2img', job).id;
    } catch (error) {
      throw a1111Error(error);
    }
    const signal = c.req.raw.signal;
    const onAbort = (): void => void service.cancel(id);
    signal.addEventListener('abort', onAbort, { once: true });
    let record;
    try {
      record = await service.wait(id, { signal });
    } catch (error) {
      if (signal.aborted) return new Response(null, { status: 499 }); // the client went away; its job is cancelled
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (record.state !== 'done') {
      const error = record.error ?? { code: record.state === 'cancelled' ? 'aborted' : 'internal', message: `the job ended ${record.state}` };
      throw a1111Error(new PmgError(error.code as PmgErrorCode, error.message, { details: error.field ? { field: error.field } : {} }));
    }
    const names = record.images.filter((n) => /^image-\d+$/.test(n)).sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
    const pngs = await Promise.all(names.map((n) => readFile(service.imageFile(id, n)!)));
    const result = (record.result ?? {}) as { seeds?: unknown };
    const seeds = Array.isArray(result.seeds) ? result.seeds.map(Number) : names.map((_, i) => job.seed! + i);
    return c.json(a1111Response(body, job, pngs, seeds));
  });
  return app;
}
