/**
 * A GradientSession (spec/gradient.ts) by central finite differences: the forward model run on a batch of perturbed
 * copies of the inputs, (f(x + h·e_i) − f(x − h·e_i)) / 2h for every differentiated element. It needs no gradient graph,
 * only a model whose float inputs with a leading dimension of 1 accept a batch, and it costs 2 forward rows per
 * element, so it is for small models and few elements: the trainer's tests on the fixtures, and a stand-in until the
 * gradient graphs (src/autodiff/, issue 12 §1) are plugged in. `only` limits each input to a range of elements
 * (e.g. the soft-token rows of encoder_hidden_states); gradients outside it are reported as 0.
 * Differences are taken of float32 outputs and reduced in float64; the loss is mean((output − target)²).
 */
import { PmgError } from '../errors/pmg-error.js';
import { OnnxSession, ort, type ExecutionProvider } from '../runtime/onnx-session.js';
import type { GradientFeed, GradientGraphOptions, GradientRun, GradientSession } from '../spec/gradient.js';
import type { FloatTensor } from '../spec/tensor.js';

export interface FiniteDifferenceOptions {
  /** Step h (default 1e-2). */
  step?: number;
  /** Perturbed copies per model call (default 256). */
  chunk?: number;
  /** Per input: the element range [offset, offset + length) that is differentiated. */
  only?: Record<string, { offset: number; length: number }>;
  device?: ExecutionProvider;
  threads?: number;
}

export async function finiteDifferenceGradients(modelPath: string, options: GradientGraphOptions, fd: FiniteDifferenceOptions = {}): Promise<GradientSession> {
  const session = await OnnxSession.create(modelPath, { executionProvider: fd.device ?? 'cpu', ...(fd.threads ? { intraOpThreads: fd.threads } : {}) });
  const missing = [...options.wrt.filter((n) => !session.inputNames.includes(n)), ...(session.outputNames.includes(options.output) ? [] : [options.output])];
  if (missing.length) {
    await session.release();
    throw new PmgError('model-layout', `model ${modelPath} has no ${missing.join(', ')} (inputs ${session.inputNames.join(', ')}; outputs ${session.outputNames.join(', ')})`, { details: { path: modelPath } });
  }
  const h = fd.step ?? 1e-2;
  const chunk = Math.max(1, fd.chunk ?? 256);
  const toOrt = (feed: GradientFeed): ort.Tensor =>
    feed.data instanceof Float32Array ? new ort.Tensor('float32', feed.data, feed.dims) : feed.data instanceof BigInt64Array ? new ort.Tensor('int64', feed.data, feed.dims) : new ort.Tensor('int32', feed.data, feed.dims);
  const batched = (feed: GradientFeed): boolean => feed.dims.length >= 2 && feed.dims[0] === 1;
  const repeat = (feed: GradientFeed, rows: number): ort.Tensor => {
    const Kind = feed.data.constructor as { new (n: number): Float32Array | BigInt64Array | Int32Array };
    const out = new Kind(feed.data.length * rows);
    for (let r = 0; r < rows; r++) (out as Float32Array).set(feed.data as Float32Array, r * feed.data.length);
    return toOrt({ data: out, dims: [rows, ...feed.dims.slice(1)] } as GradientFeed);
  };
  return {
    options,
    async run(feeds, head) {
      for (const name of options.wrt) {
        const feed = feeds[name];
        if (!feed || !(feed.data instanceof Float32Array) || !batched(feed)) throw new PmgError('invalid-argument', `finite differences need a float32 feed '${name}' with a leading dimension of 1`);
      }
      const base = (await session.run(Object.fromEntries(Object.entries(feeds).map(([n, f]) => [n, toOrt(f)]))))[options.output]!;
      const output: FloatTensor = { data: Float32Array.from(base.data as Float32Array), dims: [...(base.dims as number[])] };
      const reference = 'target' in head ? head.target.data : head.cotangent.data;
      if (reference.length !== output.data.length) throw new PmgError('invalid-argument', `the ${'target' in head ? 'target' : 'cotangent'} has ${reference.length} values; ${options.output} has ${output.data.length}`);
      const size = output.data.length;
      // The scalar whose derivative is taken: the MSE, or <output, cotangent>.
      const scalar = (values: Float32Array, at: number): number => {
        let sum = 0;
        for (let i = 0; i < size; i++) {
          const v = values[at + i]!;
          if ('target' in head) {
            const d = v - reference[i]!;
            sum += d * d;
          } else sum += v * reference[i]!;
        }
        return 'target' in head ? sum / size : sum;
      };
      const grads: Record<string, FloatTensor> = {};
      for (const name of options.wrt) {
        const feed = feeds[name]! as FloatTensor;
        const range = fd.only?.[name] ?? { offset: 0, length: feed.data.length };
        const grad = new Float32Array(feed.data.length);
        for (let start = 0; start < range.length; start += chunk) {
          const count = Math.min(chunk, range.length - start);
          const perturbed = new Float32Array(feed.data.length * 2 * count);
          for (let k = 0; k < 2 * count; k++) {
            perturbed.set(feed.data, k * feed.data.length);
            const element = range.offset + start + (k >> 1);
            perturbed[k * feed.data.length + element] = feed.data[element]! + (k % 2 === 0 ? h : -h);
          }
          const run: Record<string, ort.Tensor> = {};
          for (const [n, f] of Object.entries(feeds)) run[n] = n === name ? new ort.Tensor('float32', perturbed, [2 * count, ...feed.dims.slice(1)]) : batched(f) ? repeat(f, 2 * count) : toOrt(f);
          const values = (await session.run(run, [options.output]))[options.output]!.data as Float32Array;
          for (let j = 0; j < count; j++) grad[range.offset + start + j] = (scalar(values, 2 * j * size) - scalar(values, (2 * j + 1) * size)) / (2 * h);
        }
        grads[name] = { data: grad, dims: [...feed.dims] };
      }
      return { output, grads, ...('target' in head ? { loss: scalar(output.data, 0) } : {}) } satisfies GradientRun;
    },
    async close() {
      await session.release();
    },
  };
}
