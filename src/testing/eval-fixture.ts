/**
 * A tiny eval setup for tests and `pmg bench metrics`: the fixture models (llm/, clip/, sd/, lpips/ as
 * `pmg models fixtures` writes them) and a folder of small, distinct PNG posters for every movie of a
 * MovieLens folder (the repo's excerpt in test-data/), all under one temporary folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePng, type RgbImage } from '../core/image-io.js';
import { SeededRandom } from '../core/random.js';
import { csvRecords } from '../data/csv.js';
import { writeFixtures } from '../fixtures/write-fixtures.js';

export const EVAL_FIXTURE_MODELS = ['llm', 'clip', 'sd', 'lpips'] as const;

/** A smooth, seeded colour pattern (so SSIM/LPIPS differ between posters). */
export function patternImage(seed: number, size: number): RgbImage {
  const random = new SeededRandom(seed);
  const base = [random.nextFloat(), random.nextFloat(), random.nextFloat()].map((v) => v * 200 + 20);
  const fx = 1 + random.nextFloat() * 3;
  const fy = 1 + random.nextFloat() * 3;
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        const wave = Math.sin((x / size) * fx * Math.PI * (c + 1)) * Math.cos((y / size) * fy * Math.PI);
        data[(y * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(base[c]! + 30 * wave)));
      }
    }
  }
  return { width: size, height: size, data };
}

/** Write `<dir>/<movieId>.png` for every movie in `<movieLensDir>/movies.csv`. */
export async function writePosters(movieLensDir: string, dir: string, size = 32): Promise<number> {
  await mkdir(dir, { recursive: true });
  let count = 0;
  for await (const { values } of csvRecords(join(movieLensDir, 'movies.csv'), ['movieId'])) {
    const id = values.movieId!.trim();
    await writeFile(join(dir, `${id}.png`), await encodePng(patternImage(Number(id) || count, size)));
    count++;
  }
  return count;
}

/** Write the fixture models an eval needs into `<dir>/{llm,clip,sd,lpips}`. */
export async function writeEvalModels(dir: string): Promise<void> {
  await writeFixtures(dir, { only: EVAL_FIXTURE_MODELS });
}

/**
 * `pmg eval` over the MovieLens folder `data` with the posters and models (as folders, relative or absolute) of this
 * fixture: 2 steps, 32 px, `limit` samples, no keyword cache; add --methods, --out and the flags under test after it.
 */
export function evalArgv(data: string, options: { posters?: string; models?: string; limit?: number } = {}): string[] {
  const models = options.models ?? 'fx';
  const argv = ['eval', '--dataset', 'movielens', '--data', data, '--posters', options.posters ?? 'posters', '--models', models, '--metrics-models', models];
  return [...argv, '--steps', '2', '--size', '32', '--limit', String(options.limit ?? 2), '--no-cache'];
}

/** `method@alpha` of every row of a results.csv text (its columns 3 and 4; `target-only@` where α does not apply). */
export function methodAlphaRows(csv: string): string[] {
  return csv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',').slice(2, 4).join('@'));
}
