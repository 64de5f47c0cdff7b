/**
 * LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric").
 *
 *   d(x, y) = sum_l  mean_{h,w}  sum_c  w_{l,c} * ( f_l(x)_{c,h,w}/(|f_l(x)_{h,w}| + 1e-10) - f_l(y)_{c,h,w}/(|f_l(y)_{h,w}| + 1e-10) )^2
 *
 * f_l are backbone feature taps (AlexNet relu1..relu5; VGG16 relu1_2, relu2_2, relu3_3, relu4_3, relu5_3;
 * SqueezeNet 7 taps), |.| the L2 norm over channels at each position, w_l the non-negative 1x1 linear
 * heads. Input pixels go to [-1, 1] (p/127.5 - 1), then LPIPS's ScalingLayer (x - shift) / scale.
 *
 * Model folder layout (resolved by the model store; see scripts/convert-lpips.py for real weights):
 *   model.onnx   input `image` float32 [N, 3, H, W] (already scaled as above); outputs tap_0..tap_{L-1}
 *                float32 [N, C_l, H_l, W_l] (the backbone's ReLU outputs, in order)
 *   heads.json   { "net": "alex" | "vgg" | "squeeze" | ..., "taps": ["tap_0", ...], "heads": [[w_0 ... w_{C-1}], ...] }
 * The backbone runs on onnxruntime (one call per batch of same-size images); normalisation, heads and
 * means run here in float64, so the formula is checked in one place (reference: src/metrics/reference/lpips.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RgbImage } from '../core/image-io.js';
import { parseJsonText } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';
import { OnnxSession, defaultSessionPool, ort, type SessionOptions, type SessionPool } from '../runtime/onnx-session.js';
import { alignToReferences, chunks, toNchw } from './image-batch.js';

/** LPIPS ScalingLayer constants (applied to [-1, 1] inputs). */
export const LPIPS_SHIFT = [-0.03, -0.088, -0.188] as const;
export const LPIPS_SCALE = [0.458, 0.448, 0.45] as const;
export const LPIPS_FILES = ['model.onnx', 'heads.json'];
const EPSILON = 1e-10;

export interface LpipsHeads {
  net: string;
  taps: string[];
  heads: number[][];
}

/** One image's taps: per layer [C, H, W] float32. */
export interface LpipsFeatures {
  width: number;
  height: number;
  layers: { channels: number; height: number; width: number; data: Float32Array }[];
}

export interface LpipsOptions {
  pool?: SessionPool;
  session?: SessionOptions;
  /** Images per onnxruntime call (default 16). */
  batchSize?: number;
}

export class LpipsModel {
  private constructor(
    readonly dir: string,
    readonly heads: LpipsHeads,
    private readonly session: OnnxSession,
    private readonly batchSize: number,
  ) {}

  static async load(dir: string, options: LpipsOptions = {}): Promise<LpipsModel> {
    const headsPath = join(dir, 'heads.json');
    if (!existsSync(headsPath))
      throw new PmgError('model-file-missing', `LPIPS model ${dir} has no heads.json; see scripts/convert-lpips.py for the layout`, {
        details: { path: headsPath },
      });
    const heads = parseHeads(readFileSync(headsPath, 'utf8'), headsPath);
    const session = await (options.pool ?? defaultSessionPool).get(join(dir, 'model.onnx'), options.session);
    session.expect('LPIPS backbone', ['image'], heads.taps);
    return new LpipsModel(dir, heads, session, options.batchSize ?? 16);
  }

  /** Backbone taps of each image; same-size images share onnxruntime calls of up to batchSize. */
  async features(images: readonly RgbImage[]): Promise<LpipsFeatures[]> {
    const out = new Array<LpipsFeatures>(images.length);
    const groups = new Map<string, number[]>();
    images.forEach((image, i) => {
      const key = `${image.width}x${image.height}`;
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    const mean = LPIPS_SHIFT.map((s) => (1 + s) / 2);
    const std = LPIPS_SCALE.map((s) => s / 2);
    for (const indices of groups.values()) {
      for (const batch of chunks(indices, this.batchSize)) {
        const tensor = toNchw(
          batch.map((i) => images[i]!),
          mean,
          std,
        );
        const result = await this.session.run({ image: new ort.Tensor('float32', tensor.data, tensor.dims) }, this.heads.taps);
        batch.forEach((imageIndex, n) => {
          const layers = this.heads.taps.map((name, l) => {
            const t = result[name]!;
            const [, channels, height, width] = t.dims as number[];
            if (channels !== this.heads.heads[l]!.length) {
              throw new PmgError('model-layout', `LPIPS tap ${name} has ${channels} channels but heads.json has ${this.heads.heads[l]!.length} weights for it`);
            }
            const size = channels! * height! * width!;
            const data = (t.data as Float32Array).slice(n * size, (n + 1) * size);
            return { channels: channels!, height: height!, width: width!, data };
          });
          out[imageIndex] = { width: images[imageIndex]!.width, height: images[imageIndex]!.height, layers };
        });
      }
    }
    return out;
  }

  /** LPIPS between two feature sets of same-size images (lower = closer, 0 = identical). */
  distance(a: LpipsFeatures, b: LpipsFeatures): number {
    if (a.width !== b.width || a.height !== b.height) {
      throw new PmgError('invalid-argument', `LPIPS needs images of the same size, got ${a.width}x${a.height} and ${b.width}x${b.height}`);
    }
    let total = 0;
    a.layers.forEach((layer, l) => (total += layerDistance(layer, b.layers[l]!, this.heads.heads[l]!)));
    return total;
  }

  /** LPIPS of `generated` against each reference; the generated image is resized to each reference's size. */
  async compare(generated: RgbImage, references: readonly RgbImage[]): Promise<number[]> {
    const aligned = await alignToReferences(generated, references);
    const unique = [...new Set(aligned)];
    const features = await this.features([...unique, ...references]);
    return references.map((_, i) => this.distance(features[unique.indexOf(aligned[i]!)]!, features[unique.length + i]!));
  }
}

function layerDistance(a: LpipsFeatures['layers'][number], b: LpipsFeatures['layers'][number], weights: number[]): number {
  const plane = a.height * a.width;
  const channels = a.channels;
  let sum = 0;
  for (let p = 0; p < plane; p++) {
    let na = 0;
    let nb = 0;
    for (let c = 0; c < channels; c++) {
      const u = a.data[c * plane + p]!;
      const v = b.data[c * plane + p]!;
      na += u * u;
      nb += v * v;
    }
    const ia = 1 / (Math.sqrt(na) + EPSILON);
    const ib = 1 / (Math.sqrt(nb) + EPSILON);
    let acc = 0;
    for (let c = 0; c < channels; c++) {
      const d = a.data[c * plane + p]! * ia - b.data[c * plane + p]! * ib;
      acc += weights[c]! * d * d;
    }
    sum += acc;
  }
  return sum / plane;
}

export function parseHeads(text: string, path: string): LpipsHeads {
  let value: unknown;
  try {
    value = parseJsonText(text);
  } catch (error) {
    throw new PmgError('invalid-input', `LPIPS heads file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const v = value as Partial<LpipsHeads>;
  const ok =
    typeof v === 'object' &&
    v !== null &&
    typeof v.net === 'string' &&
    Array.isArray(v.taps) &&
    Array.isArray(v.heads) &&
    v.taps.length === v.heads.length &&
    v.taps.length > 0 &&
    v.taps.every((t) => typeof t === 'string') &&
    v.heads.every((h) => Array.isArray(h) && h.length > 0 && h.every((w) => typeof w === 'number' && Number.isFinite(w)));
  if (!ok)
    throw new PmgError(
      'invalid-input',
      `LPIPS heads file ${path} must be {"net": string, "taps": [names], "heads": [[weights] per tap]} with one head per tap`,
    );
  const negative = v.heads!.findIndex((h) => h.some((w) => w < 0));
  if (negative >= 0) throw new PmgError('invalid-input', `LPIPS heads file ${path}: head ${negative} has negative weights; LPIPS heads are non-negative`);
  return v as LpipsHeads;
}
