/**
 * What the API answers, as zod schemas: /openapi.json documents its responses from them, and the contract test
 * (response-schemas.test.ts) parses the server's real answers with them, so the document cannot drift from the code.
 * Objects are open (`looseObject`): fields may be added, never removed or retyped.
 */
import { z } from 'zod';

const jobError = z.object({ code: z.string(), message: z.string(), field: z.string().optional() });

export const errorBodySchema = z.object({ error: jobError });

export const jobRecordSchema = z.looseObject({
  id: z.string().regex(/^j_[a-z2-7]{20}$/),
  kind: z.enum(['generation', 'txt2img']),
  state: z.enum(['queued', 'running', 'done', 'failed', 'cancelled']),
  job: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  attempts: z.number().int(),
  progress: z.object({ stage: z.string(), step: z.number().optional(), total: z.number().optional() }),
  queuePosition: z.number().int().optional(),
  error: jobError.optional(),
  result: z.unknown().optional(),
  images: z.array(z.string()),
});

export const jobListSchema = z.object({ jobs: z.array(jobRecordSchema) });

export const submittedSchema = z.looseObject({
  id: z.string(),
  state: z.string(),
  links: z.object({ self: z.string(), events: z.string(), result: z.string() }),
});

export const modelsSchema = z.looseObject({
  models: z.string(),
  ids: z.looseObject({ llm: z.string(), clip: z.string(), sd: z.string(), decoder: z.string().optional() }),
  loaded: z.boolean(),
  soft: z.array(z.looseObject({ name: z.string(), P: z.number().int(), N: z.number().int() })),
  methods: z.array(z.string()),
  scenes: z.array(z.string()),
  captioner: z.boolean(),
  /** `pmg serve --queue`: the Redis (no password) and the workers connected now. */
  queue: z.object({ url: z.string(), workers: z.number().int() }).optional(),
});

export const readySchema = z.looseObject({
  ready: z.boolean(),
  queued: z.number().int(),
  running: z.number().int(),
  capacity: z.number().int(),
  workers: z.number().int().optional(),
});

const keywordList = z.array(z.string());

export const keywordsSchema = z.looseObject({
  scene: z.string(),
  preference: keywordList,
  target: keywordList,
  prompts: z.looseObject({ preference: z.string(), target: z.string() }),
  raw: z.looseObject({ preference: z.string(), target: z.string() }),
  model: z.string(),
  cached: z.boolean(),
});

const weights = z.object({ preference: z.number(), target: z.number() });

/** result.json of a generation job, as `pmg generate` writes it (docs/generate.md "result.json"). */
export const generationResultSchema = z.looseObject({
  scene: z.string(),
  method: z.string(),
  alpha: z.number(),
  mode: z.string(),
  search: z.string(),
  keywords: keywordsSchema.omit({ scene: true }),
  candidates: z
    .array(
      z.looseObject({
        weights,
        prompt: z.string(),
        seed: z.number().int(),
        dp: z.number(),
        dt: z.number(),
        z: z.number(),
        image: z.string().regex(/^candidate-\d+\.png$/),
        finished: z.boolean(),
        decoder: z.enum(['vae', 'tiny']),
      }),
    )
    .min(1),
  chosen: z.number().int().min(0),
  best: z.literal('best.png'),
  models: z.looseObject({ llm: z.string(), clip: z.string(), sd: z.string() }),
  settings: z.looseObject({ steps: z.number().int(), width: z.number().int(), height: z.number().int(), seed: z.number().int() }),
  timings: z.record(z.string(), z.number()),
});

export const uploadedSchema = z.object({ path: z.string() });

export const a1111ResponseSchema = z.looseObject({
  images: z.array(z.string()),
  parameters: z.record(z.string(), z.unknown()),
  info: z.string(),
});
