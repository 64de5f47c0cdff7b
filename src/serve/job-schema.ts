/**
 * zod schemas of the request bodies, for OpenAPI (`z.toJSONSchema`) and for the Standard-Schema validators of the
 * routes. The shape and ranges of a generation job are described here, but the one validator of a job stays
 * `checkGenerationJob` (src/jobs): `generationJobValidator` is a Standard-Schema object whose `validate` runs it, so
 * the CLI and the server say the same thing about the same field (a test checks both list the same field names).
 */
import { z } from 'zod';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { checkGenerationJob, type GenerationJob } from '../jobs/generation-job.js';
import { isPmgError, PmgError } from '../errors/pmg-error.js';
import { defaultInputLimits } from '../personalize/inputs.js';
import { conditioningModes, personalizeMethods, searchStrategies } from '../personalize/personalize-request.js';
import { promptStyleNames } from '../personalize/prompt-styles.js';
import { MAX_SIDE, MAX_STEPS } from '../pipeline/text-to-image.js';
import { scenes } from '../spec/behaviour.js';
import { decoderKinds } from '../spec/diffusion-models.js';

const limits = defaultInputLimits;
const text = z.string().max(limits.maxFieldChars);
const list = z.union([z.array(text).max(limits.maxListEntries), text.describe("a 'A|B' string is read as a list")]);

export const itemSchema = z
  .object({
    id: z.union([text, z.number()]).optional(),
    title: text.optional(),
    genres: list.optional(),
    category: text.optional(),
    description: text.optional(),
    keywords: list.optional(),
    image: text
      .optional()
      .describe('a path returned by POST /v1/uploads, a data: URL, or (with --allow-remote-images) an http(s) URL; the server stores it under uploads/'),
    caption: text.optional(),
  })
  .describe('an item of a history or the target: at least a title (or a caption, description or image)');

export const turnSchema = z.object({ speaker: text, text });
const conversation = z.array(turnSchema).max(limits.maxTurns);

export const historySchema = z.union([
  z.array(itemSchema).max(limits.maxItems),
  z.object({ items: z.array(itemSchema).max(limits.maxItems).optional(), conversation: conversation.optional() }),
]);

export const targetSchema = z.union([itemSchema, z.object({ item: itemSchema.optional(), conversation: conversation.min(1).optional() }), conversation.min(1)]);

const scene = z.enum(scenes as [string, ...string[]]);

export const generationJobSchema = z
  .strictObject({
    scene,
    history: historySchema,
    target: targetSchema,
    method: z.enum(personalizeMethods as [string, ...string[]]).optional(),
    alpha: z.number().min(0).max(1).optional(),
    mode: z.enum(conditioningModes as [string, ...string[]]).optional(),
    weights: z.array(z.number().min(0)).min(1).optional(),
    targetWeight: z.number().min(0).optional(),
    search: z.enum(searchStrategies as [string, ...string[]]).optional(),
    earlyFraction: z.number().gt(0).lt(1).optional(),
    earlyKeep: z.number().int().min(1).optional(),
    previewScale: z.union([z.literal(1), z.literal(2), z.literal(4)]).optional(),
    steps: z.number().int().min(1).max(MAX_STEPS).optional(),
    guidance: z.number().optional(),
    seed: z.number().int().min(0).optional(),
    width: z.number().int().min(8).max(MAX_SIDE).multipleOf(8).optional(),
    height: z.number().int().min(8).max(MAX_SIDE).multipleOf(8).optional(),
    scheduler: z.string().min(1).optional(),
    promptStyle: z.enum(promptStyleNames as [string, ...string[]]).optional(),
    decoder: z.string().min(1).optional().describe('not accepted by the server: the decoder is the one of its --models'),
    finalDecoder: z.enum(decoderKinds as [string, ...string[]]).optional(),
    generator: z.string().min(1).optional().describe('not accepted by the server: it runs every job on its own model set (pmg generate --generator takes it)'),
    soft: z
      .strictObject({
        module: z.string().min(1).describe('a soft module name from GET /v1/models (soft[].name)'),
        llmBody: z.string().min(1).optional().describe("not accepted by the server: the module's LLM body is the server's"),
        weight: z.number().min(0).optional(),
        allowLlmMismatch: z.boolean().optional(),
      })
      .optional(),
  })
  .describe('a generation job (docs/generate.md "Generation jobs"); checked by the same validator as pmg generate');

export const keywordsInputSchema = z.object({ scene, history: historySchema, target: targetSchema });

/** A1111's txt2img body: the fields pmg reads; any other field an A1111 client sends is ignored. */
export const a1111Txt2ImgSchema = z.looseObject({
  prompt: z.string().default(''),
  negative_prompt: z.string().default(''),
  steps: z.number().int().default(50),
  cfg_scale: z.number().default(7),
  width: z.number().int().default(512),
  height: z.number().int().default(512),
  seed: z.number().int().default(-1).describe('-1: a random seed'),
  batch_size: z.number().int().min(1).default(1),
  n_iter: z.number().int().min(1).default(1),
  sampler_name: z.string().nullable().optional().describe("A1111 sampler name; omitted: the model's scheduler"),
});
export type A1111Txt2ImgBody = z.infer<typeof a1111Txt2ImgSchema>;

/** 'history.items[3].title' → ['history', 'items', 3, 'title'] (a Standard-Schema issue path). */
export function fieldToPath(field: string): (string | number)[] {
  const path: (string | number)[] = [];
  for (const part of field.match(/[^.[\]]+/g) ?? []) path.push(/^\d+$/.test(part) ? Number(part) : part);
  return path;
}

/** ['history', 'items', 3, 'title'] → 'history.items[3].title'. */
export function pathToField(path: readonly (PropertyKey | { key: PropertyKey })[] | undefined): string | undefined {
  if (!path || path.length === 0) return undefined;
  let field = '';
  for (const segment of path) {
    const key = typeof segment === 'object' ? segment.key : segment;
    field += typeof key === 'number' ? `[${key}]` : `${field ? '.' : ''}${String(key)}`;
  }
  return field;
}

/**
 * A Standard-Schema validator that runs `prepare` (server rules and image rewriting, may throw an invalid-input
 * PmgError with details.field) and then checkGenerationJob; an invalid-input error becomes one issue with the path.
 */
export function generationJobValidator(prepare: (value: unknown) => Promise<unknown> = async (v) => v): StandardSchemaV1<unknown, GenerationJob> {
  return {
    '~standard': {
      version: 1,
      vendor: 'pmg',
      async validate(value) {
        try {
          return { value: checkGenerationJob(await prepare(value)) };
        } catch (error) {
          return { issues: [issueOf(error)] };
        }
      },
    },
  };
}

function issueOf(error: unknown): StandardSchemaV1.Issue {
  if (isPmgError(error) && (error.code === 'invalid-input' || error.code === 'invalid-argument')) {
    const field = typeof error.details.field === 'string' ? error.details.field : undefined;
    return { message: error.message, ...(field ? { path: fieldToPath(field) } : {}) };
  }
  throw error;
}

/** The PmgError for the first issue of a failed validation (the hook of the routes' validators). */
export function issueError(issues: readonly StandardSchemaV1.Issue[]): PmgError {
  const issue = issues[0];
  const field = pathToField(issue?.path);
  const message = issue?.message ?? 'the body is not valid';
  return new PmgError('invalid-input', field && !message.startsWith(field) ? `${field}: ${message}` : message, { details: field ? { field } : {} });
}
