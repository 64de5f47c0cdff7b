/**
 * GradientSession (src/spec/gradient.ts): the gradient graph of a model file, built in memory and run by
 * onnxruntime (OnnxSession, optionally from a SessionPool). The graph is written to a private temporary folder only
 * long enough for onnxruntime to load it, with hard links to the original's external-data files beside it (their
 * `location` is relative to the graph, and onnxruntime refuses data outside the graph's folder, symbolic links
 * resolved), and the folder is removed once the session exists. Only when the temporary folder is on another file
 * system than the weights does it go beside the model (hidden, removed the same way).
 */
import { existsSync, mkdirSync, linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import { PmgError } from '../errors/pmg-error.js';
import { DataType } from '../fixtures/onnx-graph.js';
import { isExternal } from '../runtime/onnx-tensor-data.js';
import { OnnxSession, ort, type ExecutionProvider, type SessionPool } from '../runtime/onnx-session.js';
import type { GradientFeed, GradientGraphOptions, GradientRun, GradientSession } from '../spec/gradient.js';
import type { FloatTensor } from '../spec/tensor.js';
import { gradientGraph, gradientName, headInputName, LOSS_OUTPUT, type GradientGraphSummary } from './build-gradient-model.js';

const { onnx } = onnxProto;

export interface GradientSessionOptions extends GradientGraphOptions {
  device?: ExecutionProvider;
  /** onnxruntime intra-op threads (default: the machine's cores). */
  threads?: number;
  /** Share sessions through a pool (released with the pool); without one, `close()` releases the session. */
  pool?: SessionPool;
}

/** A GradientSession that also says what its graph differentiates. */
export type OpenGradientSession = GradientSession & { readonly summary: GradientGraphSummary };

export async function openGradientSession(modelPath: string, options: GradientSessionOptions): Promise<OpenGradientSession> {
  if (!existsSync(modelPath)) throw new PmgError('file-not-found', `model file ${modelPath} does not exist`, { details: { path: modelPath } });
  const { device, threads, pool, ...graphOptions } = options;
  const model = onnx.ModelProto.decode(readFileSync(modelPath));
  const outputType = model.graph?.output?.find((v) => v.name === graphOptions.output)?.type?.tensorType?.elemType;
  if (outputType !== undefined && outputType !== DataType.FLOAT) {
    throw new PmgError(
      'unsupported',
      `cannot train through ${modelPath}: output '${graphOptions.output}' is not float32 (type ${outputType}); use the model's fp32 export`,
      { details: { path: modelPath } },
    );
  }
  const summary = gradientGraph(model, graphOptions, modelPath);
  const sourceDir = dirname(resolve(modelPath));
  const locations = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    const location = isExternal(t) ? t.externalData?.find((e) => e.key === 'location')?.value : undefined;
    if (location) locations.add(location);
  }
  for (const location of locations) {
    if (!existsSync(join(sourceDir, location)))
      throw new PmgError('model-file-missing', `${modelPath} keeps weights in ${location}, which is missing beside it`, {
        details: { path: join(sourceDir, location) },
      });
  }
  const bytes = onnx.ModelProto.encode(model).finish();
  const sessionOptions = { ...(device ? { executionProvider: device } : {}), ...(threads ? { intraOpThreads: threads } : {}) };
  // onnxruntime accepts external data only inside the graph's own folder (symbolic links resolved), so the data files
  // are hard-linked beside the temporary graph; across file systems the temporary folder goes beside the model.
  let session: OnnxSession | undefined;
  for (const parent of [tmpdir(), sourceDir]) {
    let folder: string;
    try {
      folder = mkdtempSync(join(parent, parent === sourceDir ? '.pmg-gradient-' : 'pmg-gradient-'));
    } catch (error) {
      if (parent === sourceDir)
        throw new PmgError(
          'file-system',
          `cannot write the gradient graph of ${modelPath}: neither ${tmpdir()} (another file system than the weights) nor ${sourceDir} is writable`,
          { cause: error },
        );
      continue;
    }
    try {
      if (!linkAll(locations, sourceDir, folder)) continue;
      const graphPath = join(folder, 'gradient.onnx');
      writeFileSync(graphPath, bytes);
      session = pool ? await pool.get(graphPath, sessionOptions) : await OnnxSession.create(graphPath, sessionOptions);
      break;
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }
  if (!session)
    throw new PmgError(
      'file-system',
      `cannot link the weights of ${modelPath} beside its gradient graph (${sourceDir} is on another file system than ${tmpdir()} and is not writable)`,
    );
  return new OnnxGradientSession(session, Object.freeze({ ...graphOptions }), !pool, summary);
}

/** Hard-link every external-data file into `folder`; false when the two are on different file systems. */
function linkAll(locations: Set<string>, sourceDir: string, folder: string): boolean {
  for (const location of locations) {
    mkdirSync(dirname(join(folder, location)), { recursive: true });
    try {
      linkSync(join(sourceDir, location), join(folder, location));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EXDEV') return false;
      throw new PmgError('file-system', `cannot link ${join(sourceDir, location)} beside the gradient graph: ${(error as Error).message}`, { cause: error });
    }
  }
  return true;
}

class OnnxGradientSession implements GradientSession {
  constructor(
    private readonly session: OnnxSession,
    readonly options: Readonly<GradientGraphOptions>,
    private readonly owned: boolean,
    readonly summary: GradientGraphSummary,
  ) {}

  async run(feeds: Record<string, GradientFeed>, head: { cotangent: FloatTensor } | { target: FloatTensor }): Promise<GradientRun> {
    const headTensor = this.options.head === 'mse' ? ('target' in head ? head.target : undefined) : 'cotangent' in head ? head.cotangent : undefined;
    if (!headTensor)
      throw new PmgError(
        'invalid-argument',
        `this gradient session's head is '${this.options.head}': give ${this.options.head === 'mse' ? '{ target }' : '{ cotangent }'}`,
      );
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(feeds)) inputs[name] = toTensor(feed);
    inputs[headInputName(this.options)] = toTensor(headTensor);
    const fetches = [this.options.output, ...(this.options.head === 'mse' ? [LOSS_OUTPUT] : []), ...this.options.wrt.map(gradientName)];
    const out = await this.session.run(inputs, fetches);
    const floats = (name: string): FloatTensor => ({ data: out[name]!.data as Float32Array, dims: [...out[name]!.dims] });
    const grads: Record<string, FloatTensor> = {};
    for (const name of this.options.wrt) grads[name] = floats(gradientName(name));
    const loss = this.options.head === 'mse' ? Number((out[LOSS_OUTPUT]!.data as Float32Array)[0]) : undefined;
    return { output: floats(this.options.output), ...(loss !== undefined ? { loss } : {}), grads };
  }

  async close(): Promise<void> {
    if (this.owned) await this.session.release();
  }
}

function toTensor(feed: GradientFeed): ort.Tensor {
  if (feed.data instanceof Float32Array) return new ort.Tensor('float32', feed.data, feed.dims);
  if (feed.data instanceof BigInt64Array) return new ort.Tensor('int64', feed.data, feed.dims);
  return new ort.Tensor('int32', feed.data, feed.dims);
}
