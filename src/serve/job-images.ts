/**
 * Before a job is checked and queued, every image its history and target name is turned into a file under
 * `<dataDir>/uploads/`: a data: URL is decoded and stored; an http(s) URL is fetched and stored with
 * `--allow-remote-images`, else refused naming the field. Paths are left as given: the engine accepts only paths
 * under uploads/ (POST /v1/uploads returns them) and refuses others with the field path.
 */
import { PmgError } from '../errors/pmg-error.js';
import { fetchRemoteImage, type RemoteImageLimits } from './remote-image.js';
import { storeImage } from './upload-store.js';

export interface JobImageOptions {
  uploadsDir: string;
  allowRemoteImages: boolean;
  remoteLimits?: RemoteImageLimits;
}

type Rec = Record<string, unknown>;
const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy of `body` whose history and target images are upload paths (the body itself is not changed). */
export async function storeJobImages(body: unknown, options: JobImageOptions): Promise<unknown> {
  if (!isRecord(body)) return body;
  const job: Rec = { ...body };
  if (Array.isArray(job.history)) job.history = await storeItems(job.history, 'history.items', options);
  else if (isRecord(job.history) && Array.isArray(job.history.items))
    job.history = { ...job.history, items: await storeItems(job.history.items, 'history.items', options) };
  if (isRecord(job.target)) {
    if ('item' in job.target || 'conversation' in job.target) {
      if (isRecord(job.target.item)) job.target = { ...job.target, item: await storeItem(job.target.item, 'target.item', options) };
    } else {
      job.target = await storeItem(job.target, 'target', options);
    }
  }
  return job;
}

async function storeItems(items: unknown[], path: string, options: JobImageOptions): Promise<unknown[]> {
  return Promise.all(items.map((item, i) => (isRecord(item) ? storeItem(item, `${path}[${i}]`, options) : item)));
}

async function storeItem(item: Rec, path: string, options: JobImageOptions): Promise<Rec> {
  const image = item.image;
  if (typeof image !== 'string') return item;
  const field = `${path}.image`;
  if (/^data:/i.test(image)) return { ...item, image: await storeImage(options.uploadsDir, decodeDataUrl(image, field), field) };
  if (/^https?:\/\//i.test(image)) {
    if (!options.allowRemoteImages)
      throw new PmgError(
        'invalid-input',
        `${field}: remote image URLs are off on this server; upload the image (POST /v1/uploads) and give its path, send a data: URL, or start the server with --allow-remote-images`,
        { details: { field } },
      );
    return { ...item, image: await storeImage(options.uploadsDir, await fetchRemoteImage(image, field, options.remoteLimits), field) };
  }
  return item;
}

/** The bytes of a base64 `data:image/...;base64,` URL. */
export function decodeDataUrl(url: string, field: string): Uint8Array {
  const match = /^data:(image\/[a-z0-9.+-]+)?(;[^,]*)?;base64,(.*)$/is.exec(url);
  if (!match) throw new PmgError('invalid-input', `${field}: a data: URL must be 'data:image/<type>;base64,<bytes>'`, { details: { field } });
  return Buffer.from(match[3]!.replace(/\s+/g, ''), 'base64');
}
