/**
 * Test helper: compares a gradient graph's vector-Jacobian products with central finite differences of the forward
 * model, (f(x + h·e_i) − f(x − h·e_i)) / 2h of the scalar <cotangent, output>, at a random subset of coordinates.
 */
import { SeededRandom } from '../../core/random.js';
import { ort } from '../../runtime/onnx-session.js';
import { buildGradientModel, gradientName, headInputName } from '../build-gradient-model.js';

export type FloatArray = Float32Array | Float64Array;

export interface CheckInput {
  dims: number[];
  /** Given data (int64 for masks and timesteps), or random floats in [-1, 1) scaled by `scale`. */
  data?: FloatArray | BigInt64Array;
  scale?: number;
  /** Positive random values (for Sqrt, Log, Pow bases, divisors). */
  positive?: boolean;
}

export interface CheckOptions {
  wrt: string[];
  output: string;
  inputs: Record<string, CheckInput>;
  dtype: 'float32' | 'float64';
  head?: 'cotangent' | 'mse';
  /** Coordinates checked per differentiated input (default 12). */
  coords?: number;
  /** Finite-difference step (default 1e-6 in float64, 1e-2 in float32). */
  h?: number;
  seed?: number;
  /** Forward model to take differences of (default the model itself), e.g. a float64 copy. */
  reference?: { model: Uint8Array; dtype: 'float32' | 'float64' };
}

export interface CheckPair {
  input: string;
  index: number;
  analytic: number;
  numeric: number;
}

export interface CheckResult {
  pairs: CheckPair[];
  /** max |analytic − numeric| / (|numeric| + scale), scale = max |numeric| over the pairs (1e-3 at least). */
  maxError: number;
  loss?: number;
  output: FloatArray;
  grads: Record<string, FloatArray>;
  feeds: Record<string, FloatArray | BigInt64Array>;
}

const make = (dtype: 'float32' | 'float64', values: ArrayLike<number>): FloatArray =>
  dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);

function tensor(data: FloatArray | BigInt64Array, dims: number[]): ort.Tensor {
  if (data instanceof BigInt64Array) return new ort.Tensor('int64', data, dims);
  return data instanceof Float64Array ? new ort.Tensor('float64', data, dims) : new ort.Tensor('float32', data, dims);
}

export async function checkGradient(model: Uint8Array, options: CheckOptions): Promise<CheckResult> {
  const random = new SeededRandom(options.seed ?? 7);
  const head = options.head ?? 'cotangent';
  const feeds: Record<string, FloatArray | BigInt64Array> = {};
  for (const [name, spec] of Object.entries(options.inputs)) {
    const size = spec.dims.reduce((a, b) => a * b, 1);
    feeds[name] =
      spec.data ??
      make(
        options.dtype,
        Array.from({ length: size }, () => (spec.positive ? 0.5 + random.nextFloat() : 2 * random.nextFloat() - 1) * (spec.scale ?? 1)),
      );
  }
  // 'basic': the extended optimizations fuse patterns into contrib kernels that have no double version (QuickGelu).
  const quiet = { logSeverityLevel: 3 as const, graphOptimizationLevel: 'basic' as const };
  const gradient = await ort.InferenceSession.create(buildGradientModel(model, { wrt: options.wrt, output: options.output, head }), quiet);
  const reference = options.reference ?? { model, dtype: options.dtype };
  const forward = await ort.InferenceSession.create(reference.model, quiet);
  const asRef = (data: FloatArray | BigInt64Array): FloatArray | BigInt64Array => (data instanceof BigInt64Array ? data : make(reference.dtype, data));
  const dimsOf = (name: string): number[] => options.inputs[name]!.dims;
  const runTensor = async (overrides: Record<string, FloatArray> = {}): Promise<ort.Tensor> => {
    const all: Record<string, ort.Tensor> = {};
    for (const [name, data] of Object.entries(feeds)) all[name] = tensor(overrides[name] ?? asRef(data), dimsOf(name));
    return (await forward.run(all, [options.output]))[options.output]!;
  };
  const run = async (overrides: Record<string, FloatArray> = {}): Promise<FloatArray> => (await runTensor(overrides)).data as FloatArray;
  const base = await runTensor();
  const headData = make(
    options.dtype,
    Array.from({ length: base.data.length }, () => 2 * random.nextFloat() - 1),
  );
  const headFeed = { [headInputName({ output: options.output, head })]: tensor(headData, [...base.dims]) };
  const result = await gradient.run({ ...Object.fromEntries(Object.entries(feeds).map(([n, d]) => [n, tensor(d, dimsOf(n))])), ...headFeed });
  const scalar = (out: FloatArray): number => {
    let total = 0;
    if (head === 'mse') {
      for (let i = 0; i < out.length; i++) total += (out[i]! - headData[i]!) ** 2;
      return total / out.length;
    }
    for (let i = 0; i < out.length; i++) total += out[i]! * headData[i]!;
    return total;
  };
  const h = options.h ?? (reference.dtype === 'float64' ? 1e-6 : 1e-2);
  const pairs: CheckPair[] = [];
  const grads: Record<string, FloatArray> = {};
  for (const name of options.wrt) {
    const analytic = result[gradientName(name)]!.data as FloatArray;
    grads[name] = analytic;
    const x = asRef(feeds[name]!) as FloatArray;
    const count = Math.min(options.coords ?? 12, x.length);
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(Math.floor(random.nextFloat() * x.length));
    for (const index of chosen) {
      const plus = x.slice() as FloatArray;
      const minus = x.slice() as FloatArray;
      plus[index] = plus[index]! + h;
      minus[index] = minus[index]! - h;
      const numeric = (scalar(await run({ [name]: plus })) - scalar(await run({ [name]: minus }))) / (2 * h);
      pairs.push({ input: name, index, analytic: analytic[index]!, numeric });
    }
  }
  const scale = Math.max(1e-3, ...pairs.map((p) => Math.abs(p.numeric)));
  const maxError = Math.max(...pairs.map((p) => Math.abs(p.analytic - p.numeric) / (Math.abs(p.numeric) + scale)));
  const loss = head === 'mse' ? Number((result['loss']!.data as FloatArray)[0]) : undefined;
  await gradient.release();
  await forward.release();
  return { pairs, maxError, ...(loss !== undefined ? { loss } : {}), output: result[options.output]!.data as FloatArray, grads, feeds };
}
