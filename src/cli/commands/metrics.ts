/**
 * `pmg metrics --metric NAME <generated> <reference...>`: one metric between a generated image and
 * reference images (files or folders of images), or for clip-t each image against --text, or for
 * fid the generated set (first argument, a file or folder) against the rest.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { TRANSPARENCY_NOTE, readImageRgb } from '../../core/image-io.js';
import { PmgError } from '../../errors/pmg-error.js';
import { METRIC_NAMES, createMetric, metricInfo } from '../../metrics/registry.js';
import { booleanOption, stringOption, type Command } from '../command.js';
import { intOption } from '../option-values.js';
import { modelStoreForCommand } from '../store-from-context.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp']);

export const metricsCommand: Command = {
  name: 'metrics',
  summary: 'compute an evaluation metric (SSIM, MS-SSIM, LPIPS, CLIP-T, CLIP-I, DINO, FID) between images',
  usage: '--metric NAME <generated> <reference...> [--text T] [--model M] [--json]',
  options: {
    metric: { type: 'string', value: 'NAME', description: `one of ${METRIC_NAMES.join(', ')}` },
    text: { type: 'string', value: 'T', description: 'the text for clip-t' },
    model: { type: 'string', value: 'M', description: 'model folder or hub id for lpips, dino, fid, clip-t, clip-i' },
    luma: { type: 'boolean', description: 'ssim / ms-ssim on BT.601 luma instead of the mean of R, G, B' },
    'batch-size': { type: 'string', value: 'N', description: 'images per onnxruntime call', default: '16' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  positionals: { name: 'IMAGE', description: 'generated image, then reference images or folders (clip-t: images; fid: generated set first)', min: 1 },
  details: [
    "Sizes: ssim, ms-ssim and lpips resize the generated image to each reference's size (Lanczos-3);",
    'ms-ssim needs at least 161 px a side (pytorch_msssim: smaller side > 160). clip-t, clip-i, dino and fid resize to their network input.',
    'Conventions: SSIM as scikit-image (gaussian_weights, sigma 1.5, population covariance, data range 255);',
    'CLIP-T as torchmetrics: each image max(100 cos, 0), several images max(mean 100 cos, 0); CLIP and DINO inputs',
    "are preprocessed as transformers' image processors do (Pillow resampling), FID inputs as pytorch-fid (bilinear);",
    'LPIPS/FID/DINO networks from ONNX folders (see src/metrics/README.md).',
    'Images are read as 8-bit RGB; transparent pixels are composited over white (EXIF orientation applied).',
    'Example: pmg metrics --metric lpips --model ./lpips-alex out.png history/',
  ].join('\n'),
  async run(context) {
    const name = stringOption(context, 'metric');
    if (!name) throw new PmgError('invalid-argument', `--metric is required; known metrics: ${METRIC_NAMES.join(', ')}`);
    const info = metricInfo(name);
    const batchSize = intOption(context, 'batch-size', { min: 1, fallback: 16 });
    const text = stringOption(context, 'text');
    if (info.kind === 'text' && !text) throw new PmgError('invalid-argument', "metric 'clip-t' needs --text");
    const [first, ...rest] = context.positionals.map((p) => resolve(context.io.cwd, p));
    const generatedPaths =
      info.kind === 'set'
        ? expandImages(first!)
        : info.kind === 'text'
          ? context.positionals.flatMap((p) => expandImages(resolve(context.io.cwd, p)))
          : [fileOnly(first!)];
    const referencePaths = info.kind === 'text' ? [] : rest.flatMap(expandImages);
    if (info.kind !== 'text' && referencePaths.length === 0)
      throw new PmgError('invalid-argument', `metric '${name}' needs at least one reference image after the generated one`);

    let modelDir: string | undefined;
    const spec = stringOption(context, 'model') ?? info.defaultModel;
    if (info.modelFiles.length && spec) {
      modelDir = (await modelStoreForCommand(context).resolve(spec, { files: info.modelFiles })).dir;
    }
    const metric = await createMetric(name, { modelDir, batchSize, luma: booleanOption(context, 'luma') });
    const generated = await Promise.all(generatedPaths.map(readImageRgb));
    const references = await Promise.all(referencePaths.map(readImageRgb));

    let rows: { path: string; value: number }[] = [];
    let value: number;
    if (info.kind === 'set') {
      value = await metric.compareSets(generated, references);
    } else if (info.kind === 'text') {
      const scores = await metric.scoreTextSet(generated, text!);
      rows = generatedPaths.map((path, i) => ({ path, value: scores.values[i]! }));
      value = scores.value;
    } else {
      const scores = await metric.compare(generated[0]!, references);
      rows = referencePaths.map((path, i) => ({ path, value: scores[i]! }));
      value = mean(scores);
    }
    const result = {
      metric: info.name,
      higherIsBetter: info.higherIsBetter,
      value,
      generated: info.kind === 'pair' ? generatedPaths[0] : generatedPaths,
      ...(info.kind === 'text' ? { text } : { references: info.kind === 'set' ? referencePaths : undefined }),
      ...(rows.length ? { values: rows } : {}),
      ...(info.kind === 'set' ? { generatedCount: generated.length, referenceCount: references.length } : {}),
      model: modelDir,
      sizes: info.sizes,
      transparency: TRANSPARENCY_NOTE,
    };
    if (booleanOption(context, 'json')) {
      context.io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return 0;
    }
    const out = context.io.stdout;
    out.write(`${info.name} (${info.higherIsBetter ? 'higher' : 'lower'} is closer; ${TRANSPARENCY_NOTE})${modelDir ? ` model ${modelDir}` : ''}\n`);
    for (const row of rows) out.write(`  ${format(row.value)}  ${row.path}\n`);
    const label =
      info.kind === 'set'
        ? `${generated.length} generated vs ${references.length} reference images`
        : info.kind === 'text' && rows.length > 1
          ? `${rows.length} images: max(mean of 100 cos, 0), as torchmetrics' CLIPScore`
          : rows.length > 1
            ? `mean of ${rows.length}`
            : 'value';
    out.write(`${info.name}: ${format(value)} (${label})\n`);
    return 0;
  },
};

function expandImages(path: string): string[] {
  if (!existsSync(path)) throw new PmgError('file-not-found', `image or folder ${path} does not exist`, { details: { path } });
  if (!statSync(path).isDirectory()) return [path];
  const files = readdirSync(path)
    .filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(path, f));
  if (files.length === 0) throw new PmgError('invalid-argument', `folder ${path} has no .png, .jpg or .webp images`, { details: { path } });
  return files;
}

function fileOnly(path: string): string {
  const files = expandImages(path);
  if (files.length !== 1 || files[0] !== path) throw new PmgError('invalid-argument', `the generated image must be one file, got the folder ${path}`);
  return path;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function format(value: number): string {
  const text = Math.abs(value) >= 100 ? value.toFixed(2) : value.toFixed(4);
  // A rounding-level negative (FID of a set with itself) prints as 0.
  return /^-0\.0+$/.test(text) ? text.slice(1) : text;
}
