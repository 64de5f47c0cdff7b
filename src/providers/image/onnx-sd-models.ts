/**
 * TextEncoder, Unet and VaeDecoder over ONNX sessions. Input dtypes (int32/int64 ids, int64/float
 * timesteps, fp16 tensors) are read from each session's input metadata and converted here, so the
 * pipeline only ever sees float32.
 */
import { PmgError } from '../../errors/pmg-error.js';
import { float16ToFloat32, float32ToFloat16 } from '../../core/float16.js';
import type { ClipTokenizer } from '../../runtime/clip-tokenizer.js';
import { ort, type OnnxSession } from '../../runtime/onnx-session.js';
import type { TextEncoder, Unet, UnetMemoryProfile, VaeDecoder, VaeDecoderProfile } from '../../spec/diffusion-models.js';
import type { FloatTensor } from '../../spec/tensor.js';

export function toOrtFloat(session: OnnxSession, input: string, tensor: FloatTensor): ort.Tensor {
  const type = session.inputInfo(input)?.type;
  if (type === 'float16') return new ort.Tensor('float16', float32ToFloat16(tensor.data), tensor.dims);
  if (type !== undefined && type !== 'float32') {
    throw new PmgError('model-layout', `${session.path}: input ${input} has dtype ${type}; expected float32 or float16`, { details: { path: session.path } });
  }
  return new ort.Tensor('float32', tensor.data, tensor.dims);
}

export function fromOrtFloat(session: OnnxSession, name: string, tensor: ort.Tensor | undefined): FloatTensor {
  if (!tensor) throw new PmgError('model-layout', `${session.path} produced no output ${name}`, { details: { path: session.path } });
  const dims = tensor.dims.map(Number);
  if (tensor.type === 'float32') return { data: tensor.data as Float32Array, dims };
  if (tensor.type === 'float16') {
    const data = tensor.data as unknown;
    if (data instanceof Uint16Array) return { data: float16ToFloat32(data), dims };
    return { data: Float32Array.from(data as ArrayLike<number>), dims };
  }
  throw new PmgError('model-layout', `${session.path}: output ${name} has dtype ${tensor.type}; expected float32 or float16`, {
    details: { path: session.path },
  });
}

export class OnnxTextEncoder implements TextEncoder {
  readonly maxLength: number;
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  private readonly idsType: 'int32' | 'int64';

  constructor(
    private readonly session: OnnxSession,
    private readonly tokenizer: ClipTokenizer,
    readonly hiddenSize: number,
  ) {
    session.expect('text encoder', ['input_ids'], ['last_hidden_state']);
    const type = session.inputInfo('input_ids')?.type;
    if (type !== 'int32' && type !== 'int64') {
      throw new PmgError('model-layout', `text encoder ${session.path}: input_ids has dtype ${type}; expected int32 or int64`, {
        details: { path: session.path },
      });
    }
    this.idsType = type;
    this.maxLength = tokenizer.maxLength;
    this.bosTokenId = tokenizer.bosTokenId;
    this.eosTokenId = tokenizer.eosTokenId;
    this.padTokenId = tokenizer.padTokenId;
  }

  tokenize(text: string): number[] {
    return this.tokenizer.tokenize(text);
  }

  async encode(inputIds: number[][]): Promise<FloatTensor> {
    const flat = inputIds.flat();
    if (inputIds.some((row) => row.length !== this.maxLength)) {
      throw new PmgError('internal', `text encoder windows must have ${this.maxLength} ids each`);
    }
    const dims = [inputIds.length, this.maxLength];
    const ids =
      this.idsType === 'int32' ? new ort.Tensor('int32', Int32Array.from(flat), dims) : new ort.Tensor('int64', BigInt64Array.from(flat.map(BigInt)), dims);
    const out = await this.session.run({ input_ids: ids }, ['last_hidden_state']);
    const hidden = fromOrtFloat(this.session, 'last_hidden_state', out.last_hidden_state);
    if (hidden.dims[2] !== this.hiddenSize) {
      throw new PmgError('model-layout', `text encoder ${this.session.path} returned width ${hidden.dims[2]}, expected ${this.hiddenSize}`, {
        details: { path: this.session.path },
      });
    }
    return hidden;
  }
}

export class OnnxUnet implements Unet {
  readonly inChannels = 4;
  private readonly timestepType: string;
  private readonly timestepShape: ReadonlyArray<number | string>;
  /** Set when the model was exported with a fixed batch size (some web exports use 1): larger batches run in slices. */
  private readonly fixedBatch: number | undefined;

  constructor(
    private readonly session: OnnxSession,
    readonly memoryProfile?: UnetMemoryProfile,
  ) {
    session.expect('UNet', ['sample', 'timestep', 'encoder_hidden_states']);
    const info = session.inputInfo('timestep');
    this.timestepType = info?.type ?? 'float32';
    this.timestepShape = info?.shape ?? [1];
    if (!['int64', 'int32', 'float32', 'float16', 'float64'].includes(this.timestepType)) {
      throw new PmgError('model-layout', `UNet ${session.path}: timestep has dtype ${this.timestepType}; expected int64 or float`, {
        details: { path: session.path },
      });
    }
    this.fixedBatch = fixedDim(session, 'sample', 0);
    this.fixedTokens = fixedDim(session, 'encoder_hidden_states', 1);
  }

  /** Set when the model only takes this many conditioning tokens (long prompts and extra tokens need a dynamic axis). */
  private readonly fixedTokens: number | undefined;

  /** The dtype the model wants for `timestep` (read from the session's input metadata). */
  get timestepDtype(): string {
    return this.timestepType;
  }

  async predict(sample: FloatTensor, timestep: number, encoderHiddenStates: FloatTensor): Promise<FloatTensor> {
    const tokens = encoderHiddenStates.dims[1]!;
    if (this.fixedTokens !== undefined && tokens !== this.fixedTokens) {
      throw new PmgError(
        'model-layout',
        `UNet ${this.session.path} takes exactly ${this.fixedTokens} conditioning tokens, but this prompt needs ${tokens}; shorten the prompt to one 75-token window and drop extra tokens, or use a UNet exported with a dynamic sequence axis`,
        { details: { path: this.session.path } },
      );
    }
    try {
      return await inBatchSlices(this.fixedBatch, [sample, encoderHiddenStates], ([s, e]) => this.predictBatch(s!, timestep, e!));
    } catch (error) {
      // A UNet halves the latent three times and joins skip connections on the way up: exported graphs need latent
      // sides divisible by 8 (image sides by 64). Say so instead of onnxruntime's shape error deep inside.
      const [h, w] = [sample.dims[2]!, sample.dims[3]!];
      if (error instanceof PmgError && error.code === 'internal' && (h % 8 !== 0 || w % 8 !== 0)) {
        throw new PmgError(
          'invalid-argument',
          `UNet ${this.session.path} cannot run at ${w * 8}x${h * 8} px: this export needs width and height that are multiples of 64; try ${Math.max(64, Math.round((w * 8) / 64) * 64)}x${Math.max(64, Math.round((h * 8) / 64) * 64)}`,
          {
            cause: error,
            details: { field: 'width' },
          },
        );
      }
      throw error;
    }
  }

  private async predictBatch(sample: FloatTensor, timestep: number, encoderHiddenStates: FloatTensor): Promise<FloatTensor> {
    const out = await this.session.run({
      sample: toOrtFloat(this.session, 'sample', sample),
      timestep: this.timestepTensor(timestep, sample.dims[0]!),
      encoder_hidden_states: toOrtFloat(this.session, 'encoder_hidden_states', encoderHiddenStates),
    });
    const name = this.session.outputNames.includes('out_sample') ? 'out_sample' : this.session.outputNames[0]!;
    return fromOrtFloat(this.session, name, out[name]);
  }

  private timestepTensor(timestep: number, batch: number): ort.Tensor {
    // Rank 0: a scalar; [1]: one value; a symbolic or batch-sized axis: one value per sample.
    const rank = this.timestepShape.length;
    const first = this.timestepShape[0];
    const count = rank === 0 ? 1 : typeof first === 'number' && first === 1 ? 1 : batch;
    const dims = rank === 0 ? [] : [count];
    switch (this.timestepType) {
      case 'int64':
        // numpy's astype truncates toward zero, as diffusers' ONNX pipeline does for float timesteps.
        return new ort.Tensor('int64', new BigInt64Array(count).fill(BigInt(Math.trunc(timestep))), dims);
      case 'int32':
        return new ort.Tensor('int32', new Int32Array(count).fill(Math.trunc(timestep)), dims);
      case 'float16':
        return new ort.Tensor('float16', float32ToFloat16(new Float32Array(count).fill(timestep)), dims);
      case 'float64':
        return new ort.Tensor('float64', new Float64Array(count).fill(timestep), dims);
      default:
        return new ort.Tensor('float32', new Float32Array(count).fill(timestep), dims);
    }
  }
}

/** A VAE decoder session: the SD model's own VAE, or a tiny autoencoder (TAESD) with its own scaling factor. */
export class OnnxVaeDecoder implements VaeDecoder {
  constructor(
    private readonly session: OnnxSession,
    readonly scalingFactor: number,
    readonly profile?: VaeDecoderProfile,
    what = 'VAE decoder',
  ) {
    session.expect(what, ['latent_sample']);
    this.fixedBatch = fixedDim(session, 'latent_sample', 0);
  }

  private readonly fixedBatch: number | undefined;

  decode(latents: FloatTensor): Promise<FloatTensor> {
    return inBatchSlices(this.fixedBatch, [latents], ([l]) => this.decodeBatch(l!));
  }

  private async decodeBatch(latents: FloatTensor): Promise<FloatTensor> {
    const out = await this.session.run({ latent_sample: toOrtFloat(this.session, 'latent_sample', latents) });
    const name = this.session.outputNames.includes('sample') ? 'sample' : this.session.outputNames[0]!;
    return fromOrtFloat(this.session, name, out[name]);
  }
}

/** The size of an input's axis when the model fixes it to a number; undefined when it is symbolic or unknown. */
function fixedDim(session: OnnxSession, input: string, axis: number): number | undefined {
  const size = session.inputInfo(input)?.shape?.[axis];
  return typeof size === 'number' && size > 0 ? size : undefined;
}

/**
 * Run `run` on slices of at most `limit` rows of every input (all share the batch axis 0) and join the outputs
 * on axis 0. Without a limit, or when the batch fits, it is one call.
 */
async function inBatchSlices(limit: number | undefined, inputs: FloatTensor[], run: (slices: FloatTensor[]) => Promise<FloatTensor>): Promise<FloatTensor> {
  const batch = inputs[0]!.dims[0]!;
  if (limit === undefined || batch <= limit) return run(inputs);
  if (batch % limit !== 0) throw new PmgError('model-layout', `the model takes batches of exactly ${limit}; a batch of ${batch} cannot be split evenly`);
  const outputs: FloatTensor[] = [];
  for (let start = 0; start < batch; start += limit) outputs.push(await run(inputs.map((t) => sliceRows(t, start, limit))));
  const rows = outputs[0]!.dims.slice(1);
  const data = new Float32Array(outputs.reduce((n, t) => n + t.data.length, 0));
  let offset = 0;
  for (const t of outputs) {
    data.set(t.data, offset);
    offset += t.data.length;
  }
  return { data, dims: [batch, ...rows] };
}

function sliceRows(tensor: FloatTensor, start: number, count: number): FloatTensor {
  const row = tensor.data.length / tensor.dims[0]!;
  return { data: tensor.data.subarray(start * row, (start + count) * row), dims: [count, ...tensor.dims.slice(1)] };
}
