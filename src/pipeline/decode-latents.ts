/**
 * Stage 6 of text to image (text-to-image.ts), shared with the previews (latent-preview.ts): which decoder makes the
 * final images, and latents → images through any VaeDecoder.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { DecoderKind, VaeDecoder } from '../spec/diffusion-models.js';
import type { FloatTensor } from '../spec/tensor.js';

/** The final decoder of a request: the model's VAE, or the tiny decoder when asked (an error when there is none). */
export function finalDecoderOf(vae: VaeDecoder, tiny: VaeDecoder | undefined, kind: DecoderKind = 'vae'): VaeDecoder {
  if (kind === 'vae') return vae;
  if (kind !== 'tiny')
    throw new PmgError('invalid-argument', `final decoder must be vae or tiny, got '${String(kind)}'`, { details: { field: 'finalDecoder' } });
  if (!tiny)
    throw new PmgError('invalid-argument', "final decoder 'tiny' needs a tiny autoencoder decoder (TAESD, e.g. julienkay/taesd); none is loaded", {
      details: { field: 'finalDecoder' },
    });
  return tiny;
}

/**
 * Stage 6: latents `[k, 4, h, w]` -> images `[k, 3, 8h, 8w]`, one decoder call per image (bounded memory). Any
 * VaeDecoder: the SD model's VAE (latents / 0.18215) or a tiny autoencoder (latents / 1.0), each by its own factor.
 */
export async function decodeLatents(vae: VaeDecoder, latents: FloatTensor, signal?: AbortSignal): Promise<FloatTensor> {
  const [k, c, h, w] = latents.dims as [number, number, number, number];
  const size = c * h * w;
  const parts: FloatTensor[] = [];
  for (let i = 0; i < k; i++) {
    if (signal?.aborted) throw new PmgError('aborted', 'generation stopped before decoding', { cause: signal.reason });
    const scaled = new Float32Array(size);
    const src = latents.data.subarray(i * size, (i + 1) * size);
    for (let j = 0; j < size; j++) scaled[j] = src[j]! / vae.scalingFactor;
    parts.push(await vae.decode({ data: scaled, dims: [1, c, h, w] }));
  }
  if (k === 1) return parts[0]!;
  const each = parts[0]!.data.length;
  const data = new Float32Array(k * each);
  parts.forEach((p, i) => data.set(p.data, i * each));
  return { data, dims: [k, ...parts[0]!.dims.slice(1)] };
}
