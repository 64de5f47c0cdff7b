/**
 * What `pmg serve` mounts for the web app: `createApp({ ..., extraRoutes: webAppExtraRoutes({ data }) })` gives the
 * dataset routes at /v1/datasets (with `--data`, their paths in /openapi.json) and the page at `/`.
 */
import type { Hono } from 'hono';
import { datasetOpenApi } from './dataset-openapi.js';
import { DATASET_ROUTES_PATH, datasetRoutes } from './dataset-routes.js';
import { webAppRoutes } from './web-routes.js';

export interface MountedRoutes {
  path: string;
  app: Hono;
  openapi?: Record<string, unknown>;
}

/** The page, and the dataset routes when a dataset folder is given (its kind is checked now: a wrong folder throws). */
export function webAppExtraRoutes(options: { data?: string } = {}): MountedRoutes[] {
  return [
    ...(options.data === undefined ? [] : [{ path: DATASET_ROUTES_PATH, app: datasetRoutes(options.data), openapi: datasetOpenApi }]),
    { path: '/', app: webAppRoutes() },
  ];
}
