/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of the API, its request bodies generated from the same zod schemas
 * the routes use (`z.toJSONSchema`). A test checks that every route of the app is listed here.
 */
import { z } from 'zod';
import { packageVersion } from '../core/package-root.js';
import { a1111Txt2ImgSchema, generationJobSchema, keywordsInputSchema } from './job-schema.js';
import {
  a1111ResponseSchema,
  errorBodySchema,
  generationResultSchema,
  jobListSchema,
  jobRecordSchema,
  keywordsSchema,
  modelsSchema,
  readySchema,
  submittedSchema,
  uploadedSchema,
} from './response-schemas.js';

type Schema = Record<string, unknown>;
const json = (schema: z.ZodType): Schema => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Schema;
const content = (schema: Schema, type = 'application/json'): Schema => ({ content: { [type]: { schema } } });
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const errors = (...statuses: number[]): Schema =>
  Object.fromEntries(statuses.map((s) => [String(s), { description: errorText[s] ?? 'error', ...content(ref('Error')) }]));
const errorText: Record<number, string> = {
  400: 'invalid input (error.field names the field)',
  401: 'the API key is missing or wrong',
  404: 'no such job, image or route',
  413: 'the body is over the limit',
  429: 'the queue is full (Retry-After header)',
  500: 'the server failed',
  503: 'not ready',
};
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^j_[a-z2-7]{20}$' } };

/** The document (built per call; it is small), with the paths of mounted sub-apps (`extraPaths`). */
export function openApiDocument(extraPaths: Schema = {}): Schema {
  const bearer = [{ bearer: [] }];
  const paths: Schema = {
    '/healthz': { get: { summary: 'liveness: always 200', responses: { 200: { description: 'alive', ...content({ type: 'object' }) } } } },
    '/readyz': {
      get: {
        summary: 'readiness: models loaded and the queue open',
        responses: { 200: { description: 'ready', ...content(json(readySchema)) }, ...errors(503) },
      },
    },
    '/openapi.json': { get: { summary: 'this document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
    '/v1/models': {
      get: {
        summary: 'the models, soft modules, methods and scenes of this server',
        security: bearer,
        responses: { 200: { description: 'models', ...content(json(modelsSchema)) }, ...errors(401) },
      },
    },
    '/v1/generations': {
      post: {
        summary: 'submit a generation job',
        security: bearer,
        requestBody: { required: true, ...content(ref('GenerationJob')) },
        responses: { 202: { description: 'queued', ...content(json(submittedSchema)) }, ...errors(400, 401, 413, 429) },
      },
      get: {
        summary: 'jobs, newest first',
        security: bearer,
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
          { name: 'before', in: 'query', schema: { type: 'string' }, description: 'a job id: list the jobs older than it' },
        ],
        responses: {
          200: { description: 'jobs', ...content(json(jobListSchema)) },
          ...errors(400, 401),
        },
      },
    },
    '/v1/generations/{id}': {
      get: {
        summary: 'one job: state, progress, result',
        security: bearer,
        parameters: [idParam],
        responses: { 200: { description: 'the job', ...content(ref('JobRecord')) }, ...errors(401, 404) },
      },
      delete: {
        summary: 'cancel: a queued job at once, a running one at its next step',
        security: bearer,
        parameters: [idParam],
        responses: { 200: { description: 'the job', ...content(ref('JobRecord')) }, ...errors(401, 404) },
      },
    },
    '/v1/generations/{id}/events': {
      get: {
        summary: 'Server-Sent Events: queued, started, keywords, soft, step, candidate, done, error, cancelled',
        description: 'Last-Event-ID header (or ?lastEventId=) resumes after that id; ?access_token= carries the API key for EventSource',
        security: bearer,
        parameters: [
          idParam,
          { name: 'Last-Event-ID', in: 'header', schema: { type: 'integer' } },
          { name: 'lastEventId', in: 'query', schema: { type: 'integer' } },
          { name: 'access_token', in: 'query', schema: { type: 'string' } },
        ],
        responses: { 200: { description: 'the event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors(401, 404) },
      },
    },
    '/v1/generations/{id}/images/{name}.png': {
      get: {
        summary: "an image of a job ('best', 'candidate-<i>', 'preview-<k>', 'image-<i>')",
        security: bearer,
        parameters: [idParam, { name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9-]+$' } }],
        responses: { 200: { description: 'PNG', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } }, ...errors(401, 404) },
      },
    },
    '/v1/generations/{id}/result.json': {
      get: {
        summary: 'the result record of a finished job (attachment)',
        security: bearer,
        parameters: [idParam],
        responses: { 200: { description: 'result.json', ...content(ref('GenerationResult')) }, ...errors(401, 404) },
      },
    },
    '/v1/keywords': {
      post: {
        summary: 'preference and target keywords for a user (the LLM once, cached)',
        security: bearer,
        requestBody: { required: true, ...content(json(keywordsInputSchema)) },
        responses: {
          200: { description: 'keywords: preference, target, prompts, raw, model, cached', ...content(json(keywordsSchema)) },
          ...errors(400, 401, 413),
        },
      },
    },
    '/v1/uploads': {
      post: {
        summary: "store an image for a history item's image field",
        security: bearer,
        requestBody: {
          required: true,
          content: Object.fromEntries(['image/png', 'image/jpeg', 'image/webp'].map((t) => [t, { schema: { type: 'string', format: 'binary' } }])),
        },
        responses: { 201: { description: 'stored', ...content(json(uploadedSchema)) }, ...errors(400, 401, 413) },
      },
    },
    '/sdapi/v1/txt2img': {
      post: {
        summary: 'AUTOMATIC1111-compatible text-to-image (blocks until done)',
        security: bearer,
        requestBody: { required: true, ...content(json(a1111Txt2ImgSchema)) },
        responses: {
          200: {
            description: 'images (base64 PNG), parameters, info (JSON text)',
            ...content(json(a1111ResponseSchema)),
          },
          ...errors(400, 401, 413, 429, 500),
        },
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'pmg serve', version: packageVersion(), description: 'Personalized multimodal generation as a service (docs/serve.md)' },
    paths: { ...paths, ...extraPaths },
    components: {
      schemas: {
        GenerationJob: json(generationJobSchema),
        JobRecord: json(jobRecordSchema),
        GenerationResult: json(generationResultSchema),
        Error: json(errorBodySchema),
      },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'PMG_API_KEY, needed when the server has one' } },
    },
  };
}
