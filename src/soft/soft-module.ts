/**
 * A soft module (method.md §3; docs/soft.md): a folder with `soft_config.json` (soft-config.ts) and `soft.safetensors`,
 * float32 tensors named
 *   prefix              [P, layers·2·kvHeads·headDim]   (reparameterisation 'none')
 *   prefix_embedding    [P, hidden]                     (reparameterisation 'mlp': P-Tuning v2's PrefixEncoder,
 *   prefix_mlp.0.weight [prefixHidden, hidden]           prefix = W2 · tanh(W0 · e + b0) + b2 per row)
 *   prefix_mlp.0.bias   [prefixHidden]
 *   prefix_mlp.2.weight [layers·2·kvHeads·headDim, prefixHidden]
 *   prefix_mlp.2.bias   [layers·2·kvHeads·headDim]
 *   tokens              [N, hidden]                     the multimodal tokens
 *   map.weight          [condWidth, hidden]              the linear map into the generator's text width
 *   map.bias            [condWidth]
 * Reading checks every name, dtype, shape and value (finite) against the config and says what is wrong in one line;
 * writing is atomic (a sibling temporary folder, then renamed), so a failure leaves nothing behind. The module's
 * fingerprint is the sha256 of its soft.safetensors bytes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { encodeSafetensors, f32Tensor, readSafetensors, tensorFloats, type SafetensorsTensor } from '../core/safetensors.js';
import { prefixWidth, readSoftConfig, SOFT_CONFIG_FILE, SOFT_WEIGHTS_FILE, softConfigJson, type SoftConfig } from './soft-config.js';

export interface SoftTensors {
  /** [P, width] ('none'). */
  prefix?: Float32Array;
  /** The reparameterisation ('mlp'). */
  mlp?: { embedding: Float32Array; weight0: Float32Array; bias0: Float32Array; weight2: Float32Array; bias2: Float32Array };
  /** [N, hidden]. */
  tokens: Float32Array;
  /** [condWidth, hidden] and [condWidth]. */
  mapWeight: Float32Array;
  mapBias: Float32Array;
}

export interface SoftModule {
  /** The folder it was read from (absolute), or a label for a module made in memory. */
  source: string;
  config: SoftConfig;
  tensors: SoftTensors;
  /** sha256 (hex) of the soft.safetensors bytes. */
  fingerprint: string;
}

/** Tensor names and shapes a module with `config` stores, in file order. */
export function softTensorShapes(config: SoftConfig): [string, number[]][] {
  const width = prefixWidth(config);
  const prefix: [string, number[]][] =
    config.reparameterisation === 'mlp'
      ? [
          ['prefix_embedding', [config.P, config.hidden]],
          ['prefix_mlp.0.weight', [config.prefixHidden!, config.hidden]],
          ['prefix_mlp.0.bias', [config.prefixHidden!]],
          ['prefix_mlp.2.weight', [width, config.prefixHidden!]],
          ['prefix_mlp.2.bias', [width]],
        ]
      : [['prefix', [config.P, width]]];
  return [...prefix, ['tokens', [config.N, config.hidden]], ['map.weight', [config.condWidth, config.hidden]], ['map.bias', [config.condWidth]]];
}

function tensorValues(tensors: SoftTensors, name: string): Float32Array | undefined {
  switch (name) {
    case 'prefix':
      return tensors.prefix;
    case 'prefix_embedding':
      return tensors.mlp?.embedding;
    case 'prefix_mlp.0.weight':
      return tensors.mlp?.weight0;
    case 'prefix_mlp.0.bias':
      return tensors.mlp?.bias0;
    case 'prefix_mlp.2.weight':
      return tensors.mlp?.weight2;
    case 'prefix_mlp.2.bias':
      return tensors.mlp?.bias2;
    case 'tokens':
      return tensors.tokens;
    case 'map.weight':
      return tensors.mapWeight;
    case 'map.bias':
      return tensors.mapBias;
    default:
      return undefined;
  }
}

/** The safetensors bytes of a module (checks that every tensor fills its shape). */
export function encodeSoftTensors(config: SoftConfig, tensors: SoftTensors): Uint8Array {
  const out = new Map<string, SafetensorsTensor>();
  for (const [name, shape] of softTensorShapes(config)) {
    const values = tensorValues(tensors, name);
    if (!values) throw new PmgError('internal', `soft module tensor '${name}' is missing`);
    out.set(name, f32Tensor(values, shape));
  }
  return encodeSafetensors(out, { format: 'pt', pmg: `${config.format}/${config.formatVersion}` });
}

export function softFingerprint(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** How records (result.json, an eval run's config) name a module: its folder, fingerprint and sizes. */
export function softModuleRecord(module: SoftModule): { module: string; fingerprint: string; P: number; N: number } {
  return { module: module.source, fingerprint: module.fingerprint, P: module.config.P, N: module.config.N };
}

/** A module held in memory (not read from a folder): its fingerprint is that of the bytes it would be written as. */
export function softModuleInMemory(config: SoftConfig, tensors: SoftTensors, source = 'soft module (in memory)'): SoftModule {
  return { source, config, tensors, fingerprint: softFingerprint(encodeSoftTensors(config, tensors)) };
}

/** Read and check a soft module folder. */
export function readSoftModule(dir: string): SoftModule {
  const folder = resolve(dir);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new PmgError(
      'file-not-found',
      `soft module folder ${folder} does not exist; give a folder with ${SOFT_CONFIG_FILE} and ${SOFT_WEIGHTS_FILE} (pmg soft init or pmg soft import writes one)`,
      { details: { dir: folder } },
    );
  }
  const config = readSoftConfig(join(folder, SOFT_CONFIG_FILE));
  const file = join(folder, SOFT_WEIGHTS_FILE);
  const read = readSafetensors(file);
  const bad = (what: string): never => {
    throw new PmgError('invalid-input', `soft module ${file}: ${what}`, { details: { file } });
  };
  const shapes = softTensorShapes(config);
  const expected = new Set(shapes.map(([name]) => name));
  for (const name of read.tensors.keys()) {
    if (!expected.has(name))
      bad(`unexpected tensor '${name}'; a module with reparameterisation '${config.reparameterisation}' holds ${[...expected].join(', ')}`);
  }
  const values = new Map<string, Float32Array>();
  for (const [name, shape] of shapes) {
    const tensor = read.tensors.get(name);
    if (!tensor) return bad(`tensor '${name}' is missing (${describeShape(name, shape, config)})`);
    if (tensor.dtype !== 'F32')
      bad(`tensor '${name}' is ${tensor.dtype}; a soft module stores float32 (F32) tensors (pmg soft import converts other float types)`);
    if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
      bad(`tensor '${name}' has shape [${tensor.shape.join(', ')}]; ${SOFT_CONFIG_FILE} needs [${shape.join(', ')}] (${describeShape(name, shape, config)})`);
    }
    const floats = tensorFloats(name, tensor, file);
    const at = floats.findIndex((v) => !Number.isFinite(v));
    if (at >= 0) bad(`tensor '${name}' holds ${floats[at]} at index ${at}; every value must be finite`);
    values.set(name, floats);
  }
  const tensors: SoftTensors =
    config.reparameterisation === 'mlp'
      ? {
          mlp: {
            embedding: values.get('prefix_embedding')!,
            weight0: values.get('prefix_mlp.0.weight')!,
            bias0: values.get('prefix_mlp.0.bias')!,
            weight2: values.get('prefix_mlp.2.weight')!,
            bias2: values.get('prefix_mlp.2.bias')!,
          },
          tokens: values.get('tokens')!,
          mapWeight: values.get('map.weight')!,
          mapBias: values.get('map.bias')!,
        }
      : { prefix: values.get('prefix')!, tokens: values.get('tokens')!, mapWeight: values.get('map.weight')!, mapBias: values.get('map.bias')! };
  return { source: folder, config, tensors, fingerprint: softFingerprint(readFileSync(file)) };
}

function describeShape(name: string, shape: number[], config: SoftConfig): string {
  if (name === 'prefix' || name.startsWith('prefix_mlp.2'))
    return `P = ${config.P}, layers·2·kvHeads·headDim = ${config.layers}·2·${config.kvHeads}·${config.headDim} = ${prefixWidth(config)}`;
  if (name === 'tokens') return `N = ${config.N}, hidden = ${config.hidden}`;
  if (name.startsWith('map')) return `condWidth = ${config.condWidth}, hidden = ${config.hidden}`;
  return `[${shape.join(', ')}] from ${SOFT_CONFIG_FILE}`;
}

/**
 * Write a module into `dir` atomically and return it as read back. `dir` may be missing, empty, or an earlier soft
 * module (its two files are replaced); a folder holding anything else is refused before anything is written.
 */
export function writeSoftModule(dir: string, config: SoftConfig, tensors: SoftTensors): SoftModule {
  const out = resolve(dir);
  const bytes = encodeSoftTensors(config, tensors);
  const existing = existsSync(out) ? readdirSync(out) : undefined;
  const ours = new Set([SOFT_CONFIG_FILE, SOFT_WEIGHTS_FILE]);
  const others = existing?.filter((name) => !ours.has(name)) ?? [];
  if (others.length) {
    throw new PmgError(
      'invalid-argument',
      `out ${out} holds other files (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', ...' : ''}); give a new or empty folder, or an earlier soft module to replace`,
      { details: { dir: out, field: 'out' } },
    );
  }
  if (!existsSync(dirname(out)))
    throw new PmgError('file-not-found', `folder ${dirname(out)} of the output folder does not exist; create it first`, { details: { dir: out } });
  const temp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  rmSync(temp, { recursive: true, force: true });
  try {
    mkdirSync(temp);
    writeFileSync(join(temp, SOFT_WEIGHTS_FILE), bytes);
    writeFileSync(join(temp, SOFT_CONFIG_FILE), softConfigJson(config));
    if (existing === undefined || existing.length === 0) {
      if (existing) rmdirSync(out);
      renameSync(temp, out);
    } else {
      for (const name of [SOFT_WEIGHTS_FILE, SOFT_CONFIG_FILE]) renameSync(join(temp, name), join(out, name));
      rmSync(temp, { recursive: true, force: true });
    }
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
  return readSoftModule(out);
}
