/**
 * The metrics pmg knows, what each needs, and one uniform way to run them:
 * `createMetric(name, { modelDir })` loads the metric's network once and returns an evaluator.
 */
import type { RgbImage } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';
import type { SessionPool } from '../runtime/onnx-session.js';
import { loadClip } from '../runtime/transformers-models.js';
import { clipImageScores, clipTextScoreSet, clipTextScores } from './clip-score.js';
import { DINO_FILES, DinoModel } from './dino.js';
import { FID_FILES, InceptionFeatures } from './fid.js';
import { LPIPS_FILES, LpipsModel } from './lpips.js';
import { msSsim } from './ms-ssim.js';
import { ssim } from './ssim.js';
import { alignToReferences } from './image-batch.js';

export const METRIC_NAMES = ['ssim', 'ms-ssim', 'lpips', 'clip-t', 'clip-i', 'dino', 'fid'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export interface MetricInfo {
  name: MetricName;
  summary: string;
  higherIsBetter: boolean;
  /** pair: generated vs each reference; text: each image vs a text; set: generated set vs reference set. */
  kind: 'pair' | 'text' | 'set';
  /** Files the model folder must have (empty: no network). */
  modelFiles: string[];
  /** Model used when none is given (a hub id), if any. */
  defaultModel?: string;
  sizes: string;
}

export const METRICS: Record<MetricName, MetricInfo> = {
  ssim: {
    name: 'ssim',
    summary: 'SSIM, Gaussian 11x11 sigma 1.5, data range 255, skimage conventions',
    higherIsBetter: true,
    kind: 'pair',
    modelFiles: [],
    sizes: 'generated resized to each reference (Lanczos-3)',
  },
  'ms-ssim': {
    name: 'ms-ssim',
    summary: 'MS-SSIM as pytorch_msssim: 5 scales, weights 0.0448..0.1333, odd sides padded before pooling',
    higherIsBetter: true,
    kind: 'pair',
    modelFiles: [],
    sizes: 'generated resized to each reference (Lanczos-3); smaller side > 160 px (pytorch_msssim)',
  },
  lpips: {
    name: 'lpips',
    summary: 'LPIPS distance (backbone taps + 1x1 heads from an ONNX folder)',
    higherIsBetter: false,
    kind: 'pair',
    modelFiles: LPIPS_FILES,
    sizes: 'generated resized to each reference (Lanczos-3)',
  },
  'clip-t': {
    name: 'clip-t',
    summary: 'CLIP-T = max(100 cos(image, text), 0); a set: max(mean 100 cos, 0) as torchmetrics',
    higherIsBetter: true,
    kind: 'text',
    modelFiles: ['config.json'],
    defaultModel: 'Xenova/clip-vit-base-patch32',
    sizes: "any (CLIP's own resize/crop)",
  },
  'clip-i': {
    name: 'clip-i',
    summary: 'CLIP-I = cos of CLIP image embeddings',
    higherIsBetter: true,
    kind: 'pair',
    modelFiles: ['config.json'],
    defaultModel: 'Xenova/clip-vit-base-patch32',
    sizes: "any (CLIP's own resize/crop)",
  },
  dino: {
    name: 'dino',
    summary: 'DINO = cos of DINO/DINOv2 CLS embeddings',
    higherIsBetter: true,
    kind: 'pair',
    modelFiles: DINO_FILES,
    sizes: "any (the model's resize/crop)",
  },
  fid: {
    name: 'fid',
    summary: 'FID of the generated set vs the reference set (Inception pool features)',
    higherIsBetter: false,
    kind: 'set',
    modelFiles: FID_FILES,
    sizes: 'any (resized to the network input)',
  },
};

export function metricInfo(name: string): MetricInfo {
  if ((METRIC_NAMES as readonly string[]).includes(name)) return METRICS[name as MetricName];
  throw new PmgError('invalid-argument', `unknown metric '${name}'; known metrics: ${METRIC_NAMES.join(', ')}`, { details: { metric: name } });
}

export interface MetricOptions {
  /** Local folder of the metric's network (already resolved by the model store). */
  modelDir?: string;
  pool?: SessionPool;
  /** Images per onnxruntime call (default 16). */
  batchSize?: number;
  /** SSIM / MS-SSIM on luma instead of the RGB mean. */
  luma?: boolean;
}

export interface Metric {
  info: MetricInfo;
  /** pair metrics: generated vs each reference. */
  compare(generated: RgbImage, references: readonly RgbImage[]): Promise<number[]>;
  /** text metric: each image vs the text. */
  scoreText(images: readonly RgbImage[], text: string): Promise<number[]>;
  /** text metric: each image's value and the set's (clip-t: torchmetrics' max(mean(100 cos), 0), clamped after the mean). */
  scoreTextSet(images: readonly RgbImage[], text: string): Promise<{ values: number[]; value: number }>;
  /** set metric: one number for two sets. */
  compareSets(generated: readonly RgbImage[], references: readonly RgbImage[]): Promise<number>;
}

export async function createMetric(name: string, options: MetricOptions = {}): Promise<Metric> {
  const info = metricInfo(name);
  const needModel = (): string => {
    if (!options.modelDir)
      throw new PmgError('invalid-argument', `model is missing: metric '${name}' needs a model (a folder or hub id)`, { details: { field: 'model' } });
    return options.modelDir;
  };
  const wrong = (what: string) => () => Promise.reject(new PmgError('invalid-argument', `metric '${name}' is a ${info.kind} metric and cannot ${what}`));
  const base = {
    info,
    compare: wrong('compare image pairs'),
    scoreText: wrong('score images against a text'),
    scoreTextSet: wrong('score images against a text'),
    compareSets: wrong('compare image sets'),
  } as Metric;
  const load = { pool: options.pool, batchSize: options.batchSize };
  const mode = options.luma ? ('luma' as const) : ('rgb' as const);
  switch (info.name) {
    case 'ssim':
    case 'ms-ssim': {
      const f = info.name === 'ssim' ? ssim : msSsim;
      return { ...base, compare: async (g, refs) => (await alignToReferences(g, refs)).map((a, i) => f(a, refs[i]!, { mode })) };
    }
    case 'lpips': {
      const model = await LpipsModel.load(needModel(), load);
      return { ...base, compare: (g, refs) => model.compare(g, refs) };
    }
    case 'dino': {
      const model = await DinoModel.load(needModel(), load);
      return { ...base, compare: (g, refs) => model.compare(g, refs) };
    }
    case 'fid': {
      const model = await InceptionFeatures.load(needModel(), load);
      return { ...base, compareSets: (g, refs) => model.fid(g, refs) };
    }
    case 'clip-t':
    case 'clip-i': {
      const clip = await loadClip(needModel(), { batchSize: options.batchSize });
      return info.name === 'clip-t'
        ? { ...base, scoreText: (images, text) => clipTextScores(clip, images, text), scoreTextSet: (images, text) => clipTextScoreSet(clip, images, text) }
        : { ...base, compare: (g, refs) => clipImageScores(clip, g, refs) };
    }
  }
}
