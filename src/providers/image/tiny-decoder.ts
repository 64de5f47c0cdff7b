/**
 * Loads a tiny autoencoder decoder (TAESD: diffusers' `AutoencoderTiny`, its decoder exported to ONNX) as a
 * VaeDecoder: the same OnnxVaeDecoder class as the SD model's own VAE, with the decoder's own scaling factor from
 * its config (1.0 for TAESD, which decodes the UNet's latents as they are; the SD VAE's is 0.18215).
 *
 * Two layouts are accepted, nothing else:
 *   1. a decoder repo or folder in the diffusers ONNX layout: `<dir>/vae_decoder/model.onnx` + `<dir>/vae_decoder/config.json`
 *      (julienkay/taesd; `pmg models fixtures` writes `<fixtures>/taesd/` this way);
 *   2. a folder that is that vae_decoder folder itself: `<dir>/model.onnx` + `<dir>/config.json`.
 * `config.json` must say `"_class_name": "AutoencoderTiny"` with 4 latent channels. A full VAE (AutoencoderKL), PyTorch
 * weights or a folder without those files is refused in one line naming the expected layout.
 * TAESD decodes SD 1.x / 2.x latents (SD-Turbo included); SDXL needs taesdxl, which pmg cannot tell apart by its files.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PmgError } from '../../errors/pmg-error.js';
import { defaultSessionPool, type ExecutionProvider, type OnnxSession, type SessionPool } from '../../runtime/onnx-session.js';
import type { TinyDecoderModel } from '../../spec/diffusion-models.js';
import { OnnxVaeDecoder } from './onnx-sd-models.js';
import type { ModelResolver } from './sd-fallbacks.js';
import { readJsonFile } from './sd-layout.js';

export const TINY_DECODER_LAYOUT =
  'a tiny autoencoder (TAESD) exported to ONNX: vae_decoder/model.onnx and vae_decoder/config.json with "_class_name": "AutoencoderTiny" (as julienkay/taesd), or a folder holding that model.onnx and config.json itself';

/** What a hub repo id of a tiny decoder is pulled with (either layout; ONNX external-data sidecars included). */
export const TINY_DECODER_INCLUDE = ['vae_decoder/', 'model.onnx', 'model.onnx.data', 'model.onnx_data', 'config.json'];

/** The scaling factor diffusers' AutoencoderTiny has when its config names none. */
export const TINY_DECODER_DEFAULT_SCALING = 1.0;

export interface LoadTinyDecoderOptions {
  /** Resolves hub ids (e.g. the model store, purpose 'decoder'); without one, only local folders load. */
  resolve?: ModelResolver;
  pool?: SessionPool;
  device?: ExecutionProvider;
  threads?: number;
}

export interface OnnxTinyDecoder extends TinyDecoderModel {
  readonly session: OnnxSession;
  /** The folder the model.onnx and config.json were read from (`<dir>/vae_decoder` or `<dir>`). */
  readonly folder: string;
}

/** The folder holding the decoder's model.onnx and config.json; throws for any other layout. */
export function tinyDecoderFolder(dir: string, name: string): string {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new PmgError('model-not-found', `decoder ${name}: folder ${dir} does not exist`, { details: { dir } });
  for (const folder of [join(dir, 'vae_decoder'), dir]) {
    if (!existsSync(join(folder, 'model.onnx'))) continue;
    if (!existsSync(join(folder, 'config.json'))) {
      throw new PmgError(
        'model-file-missing',
        `decoder ${name} lacks ${join(folder, 'config.json')} (its class and scaling factor); pmg needs ${TINY_DECODER_LAYOUT}`,
        {
          details: { dir, file: join(folder, 'config.json') },
        },
      );
    }
    return folder;
  }
  const files = safeList(dir);
  const weights = files.filter((file) => /\.(safetensors|bin|pth|ckpt)$/.test(file));
  const why =
    weights.length > 0
      ? `it holds PyTorch weights (${weights.slice(0, 3).join(', ')}), not ONNX`
      : existsSync(join(dir, 'config.json'))
        ? 'it has a config.json but no ONNX model at vae_decoder/model.onnx or model.onnx (a PyTorch repo such as madebyollin/taesd looks like this)'
        : `it has neither vae_decoder/model.onnx nor model.onnx`;
  throw new PmgError('model-layout', `decoder ${name}: ${why}; pmg needs ${TINY_DECODER_LAYOUT}`, { details: { dir } });
}

/** The scaling factor from the decoder's config.json, after checking that it is an AutoencoderTiny for 4-channel latents. */
export function tinyDecoderScaling(folder: string, name: string): number {
  const path = join(folder, 'config.json');
  const config = readJsonFile(path, `decoder ${name}`);
  const refuse = (why: string): never => {
    throw new PmgError('model-layout', `decoder ${name}: ${path} ${why}; pmg needs ${TINY_DECODER_LAYOUT}`, { details: { file: path } });
  };
  const className = config._class_name;
  if (className === 'AutoencoderKL') refuse('describes a full VAE (AutoencoderKL), not a tiny autoencoder; the SD model already has its VAE');
  if (className !== 'AutoencoderTiny') refuse(`has "_class_name" ${JSON.stringify(className ?? null)}, expected "AutoencoderTiny"`);
  const channels = config.latent_channels;
  if (channels !== undefined && channels !== 4)
    refuse(`has "latent_channels" ${JSON.stringify(channels)}; Stable Diffusion 1.x/2.x latents have 4 (16-channel TAESD variants are for SD3/FLUX)`);
  const scaling = config.scaling_factor ?? TINY_DECODER_DEFAULT_SCALING;
  if (typeof scaling !== 'number' || !Number.isFinite(scaling) || scaling <= 0)
    refuse(`has "scaling_factor" ${JSON.stringify(scaling)}; expected a number > 0`);
  return scaling as number;
}

export async function loadTinyDecoder(spec: string, options: LoadTinyDecoderOptions = {}): Promise<OnnxTinyDecoder> {
  const { dir, id } = options.resolve ? await options.resolve(spec, [], [], 'decoder') : localFolder(spec);
  const folder = tinyDecoderFolder(dir, id);
  const scalingFactor = tinyDecoderScaling(folder, id);
  const pool = options.pool ?? defaultSessionPool;
  const session = await pool.get(join(folder, 'model.onnx'), {
    executionProvider: options.device ?? 'cpu',
    ...(options.threads ? { intraOpThreads: options.threads } : {}),
  });
  return { id, dir, folder, session, decoder: new OnnxVaeDecoder(session, scalingFactor, undefined, 'tiny decoder') };
}

function localFolder(spec: string): { dir: string; id: string } {
  if (!existsSync(spec)) {
    throw new PmgError('model-not-found', `decoder ${spec} is not a local folder, and no model store was given to fetch it from the hub`, {
      details: { model: spec },
    });
  }
  return { dir: spec, id: spec };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
