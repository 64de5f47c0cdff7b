/**
 * Generated-image features of every (user, item) row (issue 15): the image `pmg eval` chose for the row's sample
 * (`rec-u<user>-i<item>`) under method 'pmg' (at one α) or 'target-only', embedded by CLIP's image tower and
 * L2-normalised, reduced by a PCA fitted on the TRAIN rows only (pca.ts), followed by the image's d_p and d_t
 * (CLIP logits against the preference and target texts, as the run scored them): width K + 2.
 * Every row must have its image (the leakage rule: an image only for some rows tells the label); a missing one is an
 * error listing how many, the first ids and the command that makes them. Nothing is dropped.
 */
import { join } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import type { ClipImageInput } from '../runtime/clip-inputs.js';
import { fitPca, pcaTransform } from './pca.js';
import { recSampleId } from './rec-plan.js';
import { evalCommandLine, readRecRun, type RecRun } from './rec-run.js';
import type { DenseFeatures, RecDataset } from './rec-types.js';

export type GeneratedMethod = 'pmg' | 'target-only';
export const DEFAULT_PCA_COMPONENTS = 16;
const EMBED_BATCH = 64;

export interface ImageEmbedder {
  embedImages(images: readonly ClipImageInput[]): Promise<Float32Array[]>;
}

export interface GeneratedFeatureOptions {
  /** α of the pmg rows (default: the run's first). */
  alpha?: number;
  /** PCA components K (default 16). */
  pca?: number;
  onProgress?: (line: string) => void;
}

export interface GeneratedFeatures extends DenseFeatures {
  method: GeneratedMethod;
  alpha: number | null;
  /** Share of the train rows' embedding variance the K components keep. */
  explainedVariance: number;
}

/** `runDir`: the run folder, or the run already read (readRecRun) when several feature sets come from it. */
export async function generatedFeatures(
  dataset: RecDataset,
  runDir: string | RecRun,
  method: GeneratedMethod,
  clip: ImageEmbedder,
  options: GeneratedFeatureOptions = {},
): Promise<GeneratedFeatures> {
  const run = typeof runDir === 'string' ? readRecRun(runDir, dataset) : runDir;
  if (!run.config.methods.includes(method))
    throw new PmgError('invalid-argument', `features: the run ${run.dir} has no '${method}' rows (its methods: ${run.config.methods.join(', ')})`, {
      details: { field: 'features' },
    });
  const alpha = method === 'pmg' ? (options.alpha ?? run.config.alphas[0]!) : null;
  if (alpha !== null && !run.config.alphas.includes(alpha))
    throw new PmgError('invalid-argument', `--alpha ${alpha} is not among the run's α values (${run.config.alphas.join(', ')})`, {
      details: { field: 'alpha' },
    });
  const byId = new Map(run.rows.filter((r) => r.method === method && r.alpha === alpha).map((r) => [r.sampleId, r]));
  const found = dataset.rows.map((row) => byId.get(recSampleId(row.user, row.item)));
  const missing = dataset.rows.filter((_, i) => !found[i]).map((row) => recSampleId(row.user, row.item));
  if (missing.length)
    throw new PmgError(
      'invalid-input',
      `features: ${missing.length} of ${dataset.rows.length} rows have no ${method}${alpha !== null ? ` (α ${alpha})` : ''} image in ${run.dir} ` +
        `(first: ${missing.slice(0, 3).join(', ')}); every scored row needs one: make them with '${evalCommandLine(run, dataset.rows.length)}' (it resumes the run)`,
      { details: { field: 'features', missing: missing.length } },
    );
  const rows = found as NonNullable<(typeof found)[number]>[];
  const components = options.pca ?? DEFAULT_PCA_COMPONENTS;

  // 1. CLIP image embeddings, L2-normalised.
  let dim = 0;
  let embeddings = new Float32Array(0);
  for (let start = 0; start < rows.length; start += EMBED_BATCH) {
    const batch = rows.slice(start, start + EMBED_BATCH);
    const embedded = await clip.embedImages(batch.map((r) => join(run.dir, r.image)));
    if (start === 0) {
      dim = embedded[0]!.length;
      embeddings = new Float32Array(rows.length * dim);
    }
    embedded.forEach((e, j) => {
      let norm = 0;
      for (const v of e) norm += v * v;
      const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let k = 0; k < dim; k++) embeddings[(start + j) * dim + k] = e[k]! * scale;
    });
  }
  options.onProgress?.(`rec: ${method}: ${rows.length} images embedded with CLIP (${dim} dimensions)`);
  if (components > dim)
    throw new PmgError('invalid-argument', `--pca ${components} is more than the CLIP embedding's ${dim} dimensions; use at most ${dim}`, {
      details: { field: 'pca' },
    });

  // 2. PCA fitted on the train rows only, applied to every row; then d_p and d_t.
  const train = dataset.rows.flatMap((row, i) => (row.split === 'train' ? [i] : []));
  const model = fitPca(embeddings, dim, components, train);
  const projected = pcaTransform(model, embeddings);
  const width = components + 2;
  const values = new Float32Array(rows.length * width);
  rows.forEach((r, i) => {
    values.set(projected.subarray(i * components, (i + 1) * components), i * width);
    values[i * width + components] = r.dp;
    values[i * width + components + 1] = r.dt;
  });
  const explainedVariance = model.explainedRatio.reduce((s, v) => s + v, 0);
  return { name: method, width, values, method, alpha, explainedVariance };
}
