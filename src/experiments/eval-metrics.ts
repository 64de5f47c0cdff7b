/**
 * The metrics of an eval run (method.md section 3, issue 6 section 3), per generated image:
 * - personalization = each pair metric against the user's history images, mean over the history;
 * - accuracy = each pair metric against the target item's real image, and CLIP-T against the target text.
 * Metric networks are folders: LPIPS `lpips/`, CLIP `clip/`, DINO `dino/` (the layout `pmg models fixtures`
 * writes), each loaded once by `createMetric` (metrics/registry.ts).
 */
import type { RgbImage } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';
import { createMetric, metricInfo, type Metric } from '../metrics/registry.js';
import type { SessionPool } from '../runtime/onnx-session.js';
import type { Sample } from '../spec/behaviour.js';

/** Metrics `pmg eval` computes per output (fid is a set metric and is not among them). */
export const EVAL_METRICS = ['lpips', 'ssim', 'ms-ssim', 'clip-i', 'dino', 'clip-t'] as const;
export type EvalMetricName = (typeof EVAL_METRICS)[number];
export const DEFAULT_EVAL_METRICS: readonly EvalMetricName[] = ['lpips', 'ssim', 'clip-i', 'clip-t'];

/** Which network folder each metric needs (none for ssim / ms-ssim). */
export const METRIC_MODEL_FOLDER: Partial<Record<EvalMetricName, 'lpips' | 'clip' | 'dino'>> = {
  lpips: 'lpips',
  'clip-i': 'clip',
  'clip-t': 'clip',
  dino: 'dino',
};

export function checkEvalMetrics(names: readonly string[]): EvalMetricName[] {
  if (names.length === 0) throw new PmgError('invalid-argument', `metrics is empty; use some of ${EVAL_METRICS.join(', ')}`, { details: { field: 'metrics' } });
  const out: EvalMetricName[] = [];
  for (const raw of names) {
    const name = raw.trim();
    metricInfo(name); // unknown metric: one clear line listing the known ones
    if (!(EVAL_METRICS as readonly string[]).includes(name)) {
      throw new PmgError(
        'invalid-argument',
        `metric '${name}' compares image sets, not one output with its references; pmg eval computes ${EVAL_METRICS.join(', ')} (compute it with the metrics command on the images folder)`,
      );
    }
    if (!out.includes(name as EvalMetricName)) out.push(name as EvalMetricName);
  }
  return out;
}

/** Column names in results.csv and the report, in a fixed order: personalization first, then accuracy. */
export function metricColumns(metrics: readonly EvalMetricName[]): string[] {
  const ordered = EVAL_METRICS.filter((m) => metrics.includes(m));
  const pair = ordered.filter((m) => m !== 'clip-t');
  return [
    ...pair.map((m) => columnName('personalization', m)),
    ...pair.map((m) => columnName('accuracy', m)),
    ...(ordered.includes('clip-t') ? [columnName('accuracy', 'clip-t')] : []),
  ];
}

export function columnName(side: 'personalization' | 'accuracy', metric: EvalMetricName): string {
  return `${side}_${metric.replace(/-/g, '_')}`;
}

/** The column's metric and side, for labels and the "lower is better" direction. */
export function parseColumn(column: string): { side: 'personalization' | 'accuracy'; metric: EvalMetricName; higherIsBetter: boolean } {
  const [side, ...rest] = column.split('_');
  const metric = rest.join('-') as EvalMetricName;
  return { side: side as 'personalization' | 'accuracy', metric, higherIsBetter: metricInfo(metric).higherIsBetter };
}

/**
 * The text CLIP-T compares an output with: the target item's own words, not the LLM's keywords (which
 * the selection already optimises): `<title>, <genres or category>, <dataset keywords or description>`.
 * For stickers, the target item's emotion/description.
 */
export function targetText(sample: Sample): string {
  const item = sample.target.item;
  const parts: string[] = [];
  if (item?.title) parts.push(item.title);
  if (item?.genres?.length) parts.push(...item.genres.map((g) => g.toLowerCase()));
  if (item?.category) parts.push(item.category);
  if (item?.keywords?.length) parts.push(...item.keywords);
  if (item?.description) parts.push(item.description);
  if (parts.length === 0 && sample.target.conversation?.length) parts.push(sample.target.conversation.map((t) => t.text).join(' '));
  return [...new Set(parts.map((p) => p.trim()).filter(Boolean))].join(', ');
}

export interface EvalReferences {
  history: readonly RgbImage[];
  target?: RgbImage;
  targetText: string;
}

export class EvalScorer {
  readonly metrics: EvalMetricName[];
  readonly columns: string[];
  private readonly loaded: Map<EvalMetricName, Metric>;

  private constructor(metrics: EvalMetricName[], loaded: Map<EvalMetricName, Metric>) {
    this.metrics = metrics;
    this.columns = metricColumns(metrics);
    this.loaded = loaded;
  }

  /** Load each metric's network once. `folders` maps lpips/clip/dino to a local folder. */
  static async load(
    metrics: readonly EvalMetricName[],
    folders: Partial<Record<'lpips' | 'clip' | 'dino', string>>,
    options: { pool?: SessionPool } = {},
  ): Promise<EvalScorer> {
    const loaded = new Map<EvalMetricName, Metric>();
    for (const name of metrics) {
      const folder = METRIC_MODEL_FOLDER[name];
      const modelDir = folder ? folders[folder] : undefined;
      if (folder && !modelDir) {
        throw new PmgError(
          'invalid-argument',
          `metricsModels: metric '${name}' needs a ${folder} network; give a metrics models folder with a ${folder}/ folder (as 'pmg models fixtures' writes), or leave '${name}' out of the metrics`,
          { details: { field: 'metricsModels' } },
        );
      }
      loaded.set(name, await createMetric(name, { modelDir, pool: options.pool }));
    }
    return new EvalScorer([...metrics], loaded);
  }

  /** Every column's value for one output. Columns whose references are missing are left out. */
  async score(output: RgbImage, references: EvalReferences): Promise<Record<string, number>> {
    const values: Record<string, number> = {};
    for (const name of EVAL_METRICS) {
      const metric = this.loaded.get(name);
      if (!metric) continue;
      if (name === 'clip-t') {
        if (references.targetText) values[columnName('accuracy', name)] = (await metric.scoreText([output], references.targetText))[0]!;
        continue;
      }
      if (references.history.length) values[columnName('personalization', name)] = mean(await metric.compare(output, references.history));
      if (references.target) values[columnName('accuracy', name)] = (await metric.compare(output, [references.target]))[0]!;
    }
    return values;
  }
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
