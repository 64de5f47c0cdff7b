/**
 * What a client may submit, checked before anything is queued: a generation job through the one job validator
 * (jobs/generation-job.ts), then the service's own rules — the soft module is a *name* from the service's list (a
 * client never gives a path: `soft.llmBody` and `decoder` are the server's), history images are uploaded files
 * (`<dataDir>/uploads/`), and items with only an image need the models folder's captioner. A txt2img job goes
 * through txt2img-job.ts. Every refusal is PmgError 'invalid-input' with `details.field`.
 */
import { PmgError } from '../errors/pmg-error.js';
import { checkGenerationJob, type GenerationJob } from '../jobs/generation-job.js';
import { describe } from '../personalize/request-validation.js';
import { checkCaptionable } from '../personalize/verbalize.js';
import type { History, Scene, Target } from '../spec/behaviour.js';
import type { JobFiles } from './job-files.js';
import type { JobKind, Txt2ImgJob } from './job-types.js';
import { checkTxt2ImgJob } from './txt2img-job.js';

export interface InputRules {
  softNames: readonly string[];
  files: JobFiles;
  captioner: boolean;
  /** The work runs on queue workers (`pmg serve --queue`): no soft modules or history images (checkQueueable). */
  queued?: boolean;
}

export function checkServiceJob(kind: JobKind, value: unknown, rules: InputRules): GenerationJob | Txt2ImgJob {
  if (kind === 'txt2img') return checkTxt2ImgJob(value);
  if (kind !== 'generation') throw invalid('kind', `kind must be generation or txt2img, got ${describe(kind)}`);
  const job = checkGenerationJob(value);
  if (rules.queued) checkQueueable(job);
  if (job.decoder !== undefined)
    throw invalid('decoder', "decoder: the service uses its model set's decoder; drop decoder (finalDecoder chooses between vae and tiny)");
  if (job.soft) {
    if (job.soft.llmBody !== undefined) throw invalid('soft.llmBody', 'soft.llmBody: the service runs each soft module on its own LLM body; drop soft.llmBody');
    if (!rules.softNames.includes(job.soft.module)) {
      const known = rules.softNames.length ? `name one of this server's: ${rules.softNames.join(', ')}` : 'this server has none (pmg serve --soft NAME=DIR)';
      throw invalid('soft.module', `soft.module: unknown soft module '${job.soft.module}'; ${known}`);
    }
  }
  return { ...job, ...checkInputImages(job, rules) };
}

/** `{ scene, history, target }` of POST /v1/keywords, with the job's field paths. */
export function checkKeywordInput(value: unknown, rules: InputRules): { scene: Scene; history: History; target: Target } {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const key of Object.keys(value)) {
      if (!['scene', 'history', 'target'].includes(key)) throw invalid(key, `${key} is not a field of a keyword request; known: scene, history, target`);
    }
  }
  const job = checkGenerationJob(value);
  return { scene: job.scene, ...checkInputImages(job, rules) };
}

/** History (and target) images as absolute paths under the uploads folder; image-only items need the captioner. */
function checkInputImages(job: GenerationJob, rules: InputRules): { history: History; target: Target } {
  const items = job.history.items.map((item, i) =>
    item.image === undefined ? item : { ...item, image: rules.files.uploadPath(item.image, `history.items[${i}].image`) },
  );
  const targetImage = job.target.item?.image;
  const target =
    targetImage === undefined ? job.target : { ...job.target, item: { ...job.target.item!, image: rules.files.uploadPath(targetImage, 'target.item.image') } };
  try {
    checkCaptionable(items, rules.captioner);
  } catch (error) {
    if (error instanceof PmgError && typeof error.details.index === 'number') {
      const index = error.details.index;
      const field = items[index]?.image === undefined ? `history.items[${index}]` : `history.items[${index}].image`;
      const message = rules.captioner
        ? error.message
        : `history item ${index} has only an image and this server has no captioner (its models folder has no captioner/); add a "title" or "caption"`;
      throw invalid(field, `${field}: ${message}`);
    }
    throw error;
  }
  return { history: { ...job.history, items }, target };
}

function invalid(field: string, message: string): PmgError {
  return new PmgError('invalid-input', message, { details: { field } });
}

export const softRefusal =
  'soft: this server runs generations on queue workers (--queue), which take no soft modules; drop soft or use a server without --queue';
export const keywordsRefusal = 'POST /v1/keywords is not served with --queue (no LLM on this host); submit a generation job, its keywords event carries them';

/** History and target images stay on this host (the workers have no shared disk): refused with the field. */
function checkQueueable(job: GenerationJob): void {
  if (job.soft) throw invalid('soft', softRefusal);
  job.history.items.forEach((item, i) => {
    if (item.image !== undefined) throw imageRefusal(`history.items[${i}].image`);
  });
  if (job.target.item?.image !== undefined) throw imageRefusal('target.item.image');
}

function imageRefusal(field: string): PmgError {
  return invalid(field, `${field}: this server runs generations on queue workers (--queue), which get no images from it; give a "title" or "caption" instead`);
}
