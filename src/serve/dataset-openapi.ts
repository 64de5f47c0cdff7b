/**
 * The dataset routes' part of `/openapi.json` (createApp's `extraRoutes[].openapi`): full paths as keys, errors as
 * the API's `Error` component.
 */
import { MAX_PAGE, MAX_QUERY_CHARS } from './dataset-routes.js';

type Schema = Record<string, unknown>;

const bearer = [{ bearer: [] }];
const error = (description: string): Schema => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
const ok = (description: string, schema: Schema): Schema => ({ description, content: { 'application/json': { schema } } });
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' }, description: "the dataset folder's name" };
const limit = (fallback: number): Schema => ({ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: fallback } });
const query = (description: string): Schema => ({ name: 'q', in: 'query', schema: { type: 'string', maxLength: MAX_QUERY_CHARS }, description });
const strings = { type: 'array', items: { type: 'string' } };
const item: Schema = {
  type: 'object',
  required: ['id', 'title'],
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    genres: strings,
    category: { type: 'string' },
    description: { type: 'string' },
    keywords: strings,
  },
};
const failures = { 400: error('a bad query (error.field names it)'), 401: error('the API key is missing or wrong'), 404: error('no such dataset or user') };

export const datasetOpenApi: Schema = {
  '/v1/datasets': {
    get: {
      summary: 'the dataset of --data: its name, kind, scene and counts',
      security: bearer,
      responses: {
        200: ok('datasets', {
          type: 'object',
          properties: {
            datasets: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  name: { type: 'string' },
                  kind: { enum: ['movielens', 'pog', 'stickers'] },
                  scene: { enum: ['movie', 'fashion', 'sticker'] },
                  users: { type: 'integer' },
                  items: { type: 'integer' },
                },
              },
            },
          },
        }),
        401: failures[401],
        500: error('the dataset could not be read'),
      },
    },
  },
  '/v1/datasets/{name}/users': {
    get: {
      summary: "the dataset's users with a sample, in id order",
      security: bearer,
      parameters: [
        nameParam,
        { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
        limit(50),
        query('users whose id contains this'),
      ],
      responses: {
        200: ok('a page of users', {
          type: 'object',
          properties: {
            users: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, historyLength: { type: 'integer' } } } },
            total: { type: 'integer' },
          },
        }),
        ...failures,
      },
    },
  },
  '/v1/datasets/{name}/users/{id}': {
    get: {
      summary: "one user: the history ready for a job, the protocol's held-out target first among the suggested targets",
      security: bearer,
      parameters: [nameParam, { name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        200: ok('the user', {
          type: 'object',
          properties: {
            id: { type: 'string' },
            scene: { enum: ['movie', 'fashion', 'sticker'] },
            history: { type: 'object', properties: { items: { type: 'array', items: item } } },
            targets: { type: 'array', items: item },
          },
        }),
        ...failures,
      },
    },
  },
  '/v1/datasets/{name}/items': {
    get: {
      summary: 'items whose title contains q (any case), titles starting with it first',
      security: bearer,
      parameters: [nameParam, query('part of a title'), limit(20)],
      responses: { 200: ok('matching items', { type: 'object', properties: { items: { type: 'array', items: item } } }), ...failures },
    },
  },
};
