/**
 * The files of the job service under its data folder: `<dataDir>/jobs/<id>/` holds a job's images (`preview-<k>.png`
 * while it runs, then `candidate-<i>.png`, `best.png` and `result.json` for a generation, `image-<i>.png` for
 * txt2img), every one written atomically (a temporary, then a rename), and `<dataDir>/uploads/` holds the images a
 * client uploaded: the only history images a job may name. Image names are checked before any path is built, so no
 * route can reach outside a job's folder.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve, sep, isAbsolute } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { removeOrphanTemporaries, writeFileAtomic } from '../core/atomic-write.js';
import type { ModelIds } from '../providers/model-set.js';
import type { PersonalizeResult } from '../personalize/personalize-request.js';
import { candidateImageName, resultJson, writeResultFolder } from '../personalize/result-files.js';
import { writePreviewFiles, writePreviewPngs } from '../pipeline/preview-files.js';
import type { StepPreview } from '../pipeline/step-preview.js';

/** Names a client may ask for: lowercase letters, digits and dashes (no dots, no slashes). */
export const IMAGE_NAME = /^[a-z0-9-]+$/;

export class JobFiles {
  readonly jobsDir: string;
  readonly uploadsDir: string;

  constructor(readonly dataDir: string) {
    this.jobsDir = join(dataDir, 'jobs');
    this.uploadsDir = join(dataDir, 'uploads');
  }

  /** Create the folders and remove temporaries a killed process left. */
  async open(): Promise<void> {
    await mkdir(this.jobsDir, { recursive: true });
    await mkdir(this.uploadsDir, { recursive: true });
    await removeOrphanTemporaries(this.jobsDir);
  }

  dir(id: string): string {
    return join(this.jobsDir, id);
  }

  /** Writes the newest x0 preview of each running candidate over `preview-<k>.png`; returns what it wrote. */
  async writePreviews(id: string, preview: StepPreview): Promise<{ candidate: number; image: string }[]> {
    return imageNames(await writePreviewFiles(this.dir(id), preview));
  }

  /** The same for previews already encoded (a queue worker's). */
  async writePreviewPngs(id: string, pngs: readonly { candidate: number; png: Uint8Array }[]): Promise<{ candidate: number; image: string }[]> {
    return imageNames(await writePreviewPngs(this.dir(id), pngs));
  }

  /** result.json, candidate-<i>.png and best.png (personalize/result-files.ts, as `pmg generate` writes them). */
  async writeGenerationResult(id: string, result: PersonalizeResult, models: ModelIds): Promise<{ json: Record<string, unknown>; images: string[] }> {
    await mkdir(this.dir(id), { recursive: true });
    await writeResultFolder(this.dir(id), result, { models });
    return {
      json: resultJson(result, { models }),
      images: [...result.candidates.map((_, i) => candidateImageName(i).replace(/\.png$/, '')), 'best'],
    };
  }

  /** `<name>.png` for each image, atomically. */
  async writeImages(id: string, images: { name: string; png: Buffer }[]): Promise<void> {
    for (const { name, png } of images) await writeFileAtomic(join(this.dir(id), `${name}.png`), png);
  }

  /** The path of image `name` of the job when the record lists it. */
  imageFile(id: string, name: string, listed: readonly string[]): string | undefined {
    if (!IMAGE_NAME.test(name) || !listed.includes(name)) return undefined;
    const path = join(this.dir(id), `${name}.png`);
    return existsSync(path) ? path : undefined;
  }

  resultFile(id: string): string | undefined {
    const path = join(this.dir(id), 'result.json');
    return existsSync(path) ? path : undefined;
  }

  /**
   * A history image named by a job: an existing file under `<dataDir>/uploads/` (absolute, or relative to that
   * folder), returned as an absolute path; anything else is refused with the field path.
   */
  uploadPath(value: string, field: string): string {
    const path = isAbsolute(value) ? resolve(value) : resolve(this.uploadsDir, value);
    const inside = relative(this.uploadsDir, path);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside) || inside.split(sep).includes('..')) {
      throw new PmgError('invalid-input', `${field}: ${value} is not an uploaded image; upload it first (POST /v1/uploads) and give the path it returns`, {
        details: { field },
      });
    }
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new PmgError('invalid-input', `${field}: ${value} does not exist in the uploads; upload it again (POST /v1/uploads)`, { details: { field } });
    }
    // A link inside the uploads that leads elsewhere is refused too.
    if (!realpathSync(path).startsWith(`${realpathSync(this.uploadsDir)}${sep}`)) {
      throw new PmgError('invalid-input', `${field}: ${value} is not an uploaded image; upload it first (POST /v1/uploads) and give the path it returns`, {
        details: { field },
      });
    }
    return path;
  }
}

function imageNames(written: { candidate: number; file: string }[]): { candidate: number; image: string }[] {
  return written.map(({ candidate, file }) => ({ candidate, image: file.replace(/\.png$/, '') }));
}
