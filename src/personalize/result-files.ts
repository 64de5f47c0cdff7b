/**
 * The on-disk form of a personalization result (issue 5 §4):
 *   <out>/best.png, <out>/candidate-<i>.png, <out>/result.json
 * Written atomically: everything goes into a sibling `<out>.tmp-<pid>` folder first. When `<out>` does not
 * exist (or is an empty folder) the temp folder is renamed into place; when it holds other files, our files
 * are moved into it one by one only after all of them were written, and the candidate images of the folder's previous
 * result that the new one does not replace are removed (nothing else). On failure nothing is left behind.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import type { ModelIds } from '../providers/model-set.js';
import type { PersonalizeResult } from './personalize.js';

export interface ResultFiles {
  resultJson: string;
  best: string;
  candidates: string[];
}

export function candidateImageName(index: number): string {
  return `candidate-${index}.png`;
}

/**
 * Candidate images an earlier run wrote into `out` that the new result does not overwrite (a re-run with fewer
 * weights). Only files the folder's previous result.json lists as its candidates' images, named as pmg names
 * them, count: anything else in the folder is never touched.
 */
async function staleCandidateImages(out: string, written: ReadonlySet<string>): Promise<string[]> {
  let previous: unknown;
  try {
    previous = JSON.parse(await readFile(join(out, 'result.json'), 'utf8'));
  } catch {
    return [];
  }
  const candidates = (previous as { candidates?: unknown } | null)?.candidates;
  if (!Array.isArray(candidates)) return [];
  const names = candidates.map((c: unknown) => (c as { image?: unknown } | null)?.image);
  return names.filter((name): name is string => typeof name === 'string' && /^candidate-\d+\.png$/.test(name) && !written.has(name));
}

/** The JSON written to result.json (without image bytes). */
export function resultJson(result: PersonalizeResult, extra: { models: ModelIds }): Record<string, unknown> {
  return {
    scene: result.scene,
    method: result.method,
    alpha: result.alpha,
    mode: result.mode,
    search: result.search,
    keywords: result.keywords,
    prompt: result.candidates.map((c) => c.prompt),
    candidates: result.candidates.map((c, i) => ({
      weights: c.weights,
      prompt: c.prompt,
      negative: c.negative,
      seed: c.seed,
      dp: c.dp,
      dt: c.dt,
      z: c.z,
      image: candidateImageName(i),
      finished: c.finished,
      decoder: c.decoder,
      contextTokens: c.contextTokens,
    })),
    scoring: result.scoring,
    chosen: result.chosen,
    best: 'best.png',
    models: extra.models,
    settings: result.settings,
    ...(result.soft ? { soft: result.soft } : {}),
    timings: result.timings,
  };
}

export async function writeResultFolder(outDir: string, result: PersonalizeResult, extra: { models: ModelIds }): Promise<ResultFiles> {
  const out = resolve(outDir);
  const chosen = result.candidates[result.chosen];
  if (!chosen) throw new PmgError('invalid-argument', `result has no candidate ${result.chosen} to save as best.png`);
  if (existsSync(out) && !(await stat(out)).isDirectory())
    throw new PmgError('file-system', `result folder ${out} is a file; give a folder`, { details: { path: out } });
  if (!existsSync(dirname(out))) throw new PmgError('file-not-found', `folder ${dirname(out)} of the result folder does not exist; create it first`);

  const files = new Map<string, Buffer | string>();
  result.candidates.forEach((c, i) => files.set(candidateImageName(i), c.png));
  files.set('best.png', chosen.png);
  files.set('result.json', `${JSON.stringify(resultJson(result, extra), null, 2)}\n`);

  const temp = `${out}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  try {
    await mkdir(temp);
    for (const [name, content] of files) await writeFile(join(temp, name), content);
    const existing = existsSync(out) ? await readdir(out) : undefined;
    if (existing === undefined || existing.length === 0) {
      if (existing) await rmdir(out);
      await rename(temp, out);
    } else {
      const stale = await staleCandidateImages(out, new Set(files.keys()));
      for (const name of files.keys()) await rename(join(temp, name), join(out, name));
      await rm(temp, { recursive: true, force: true });
      for (const name of stale) await rm(join(out, name), { force: true });
    }
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  return { resultJson: join(out, 'result.json'), best: join(out, 'best.png'), candidates: result.candidates.map((_, i) => join(out, candidateImageName(i))) };
}
