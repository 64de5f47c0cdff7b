/**
 * Soft-module weights in the PyTorch reference layout (`pmg soft import`): a safetensors state dict as the paper's
 * code and its ports save it (InferenceModel: `prefix_encoder.*`, `trainable_prompt`, `mapping_layer.*`), as PEFT
 * saves a prefix-tuning adapter (`prompt_embeddings`, the prefix table after its encoder), or pmg's own names.
 * A leading `module.` (DataParallel / DDP) is dropped. Accepted names, by the tensor they fill:
 *
 *   prefix table [P, layers·2·kvHeads·headDim]   prefix | prefix_encoder.embedding.weight | prompt_embeddings |
 *                                                 prompt_encoder.default.embedding.weight
 *   MLP reparameterisation (P-Tuning v2's PrefixEncoder with prefix_projection; needs all five):
 *     embedding [P, hidden]                       prefix_embedding | prefix_encoder.embedding.weight |
 *                                                 prompt_encoder.default.embedding.weight
 *     first Linear  [prefixHidden, hidden] + bias prefix_mlp.0.* | prefix_encoder.trans.0.* | prompt_encoder.default.transform.0.*
 *     second Linear [width, prefixHidden] + bias  prefix_mlp.2.* | prefix_encoder.trans.2.* | prompt_encoder.default.transform.2.*
 *   multimodal tokens [N, hidden] or [1, N, hidden]   tokens | trainable_prompt
 *   map [condWidth, hidden] + [condWidth]          map.weight/.bias | mapping_layer.weight/.bias
 *   ignored                                        prefix_tokens (the index buffer 0..P-1)
 *
 * An embedding name means the MLP's embedding when the file has the MLP's Linear layers, else the prefix table.
 * Floats of any width (F32, F16, BF16, F64) are read as float32; sizes must fit the LLM body and the generator.
 */
import { basename } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { readSafetensors, tensorFloats, type SafetensorsTensor } from '../core/safetensors.js';
import { prefixWidth, type SoftConfig } from './soft-config.js';
import { checkSoftSizes, softConfigFor, type SoftModuleTarget } from './soft-init.js';
import type { SoftTensors } from './soft-module.js';

type Slot = 'prefix' | 'embedding' | 'weight0' | 'bias0' | 'weight2' | 'bias2' | 'tokens' | 'mapWeight' | 'mapBias';

const PEFT = 'prompt_encoder.default';
const EMBEDDING_NAMES = ['prefix_encoder.embedding.weight', `${PEFT}.embedding.weight`];

/** Accepted names of each tensor (an embedding name is resolved by `embeddingSlot`). */
export const SOFT_IMPORT_NAMES: Record<Exclude<Slot, 'embedding'>, string[]> & { embedding: string[] } = {
  prefix: ['prefix', 'prompt_embeddings', ...EMBEDDING_NAMES],
  embedding: ['prefix_embedding', ...EMBEDDING_NAMES],
  weight0: ['prefix_mlp.0.weight', 'prefix_encoder.trans.0.weight', `${PEFT}.transform.0.weight`],
  bias0: ['prefix_mlp.0.bias', 'prefix_encoder.trans.0.bias', `${PEFT}.transform.0.bias`],
  weight2: ['prefix_mlp.2.weight', 'prefix_encoder.trans.2.weight', `${PEFT}.transform.2.weight`],
  bias2: ['prefix_mlp.2.bias', 'prefix_encoder.trans.2.bias', `${PEFT}.transform.2.bias`],
  tokens: ['tokens', 'trainable_prompt'],
  mapWeight: ['map.weight', 'mapping_layer.weight'],
  mapBias: ['map.bias', 'mapping_layer.bias'],
};
const IGNORED = ['prefix_tokens'];

const SLOT_LABEL: Record<Slot, string> = {
  prefix: 'the prefix table',
  embedding: "the prefix MLP's embedding",
  weight0: "the prefix MLP's first weight",
  bias0: "the prefix MLP's first bias",
  weight2: "the prefix MLP's second weight",
  bias2: "the prefix MLP's second bias",
  tokens: 'the multimodal tokens',
  mapWeight: "the map's weight",
  mapBias: "the map's bias",
};

/** Read `file` (PyTorch layout) into a module for `target` (the LLM body and the generator it must fit). */
export function importSoftWeights(file: string, target: SoftModuleTarget): { config: SoftConfig; tensors: SoftTensors } {
  const read = readSafetensors(file);
  const bad = (what: string): never => {
    throw new PmgError('invalid-input', `${file}: ${what}`, { details: { file } });
  };
  const names = [...read.tensors.keys()].map((name) => [name, name.startsWith('module.') ? name.slice('module.'.length) : name] as const);
  const hasMlp = names.some(([, n]) => SOFT_IMPORT_NAMES.weight0.includes(n) || SOFT_IMPORT_NAMES.weight2.includes(n));
  const found = new Map<Slot, { name: string; tensor: SafetensorsTensor }>();
  for (const [original, name] of names) {
    if (IGNORED.includes(name)) continue;
    let slot = (Object.keys(SOFT_IMPORT_NAMES) as Slot[]).find((s) => s !== 'prefix' && s !== 'embedding' && SOFT_IMPORT_NAMES[s].includes(name));
    if (!slot && SOFT_IMPORT_NAMES.prefix.includes(name) && !(hasMlp && EMBEDDING_NAMES.includes(name))) slot = 'prefix';
    if (!slot && SOFT_IMPORT_NAMES.embedding.includes(name)) slot = 'embedding';
    if (!slot)
      bad(
        `unexpected tensor '${original}'; accepted names are listed in docs/soft.md ("Importing weights"), e.g. prefix_encoder.embedding.weight, trainable_prompt, mapping_layer.weight`,
      );
    const earlier = found.get(slot!);
    if (earlier) bad(`tensors '${earlier.name}' and '${original}' both give ${SLOT_LABEL[slot!]}; keep one`);
    found.set(slot!, { name: original, tensor: read.tensors.get(original)! });
  }
  const take = (slot: Slot): { name: string; tensor: SafetensorsTensor; values: Float32Array } => {
    const entry = found.get(slot);
    if (!entry) return bad(`no tensor gives ${SLOT_LABEL[slot]}; name it ${SOFT_IMPORT_NAMES[slot].map((n) => `'${n}'`).join(' or ')}`);
    const values = tensorFloats(entry.name, entry.tensor, file);
    const at = values.findIndex((v) => !Number.isFinite(v));
    if (at >= 0) bad(`tensor '${entry.name}' holds ${values[at]} at index ${at}; every value must be finite`);
    return { ...entry, values };
  };
  const shape = (entry: { name: string; tensor: SafetensorsTensor }, expected: (number | string)[], why: string): number[] => {
    const dims = entry.tensor.shape;
    const fits = dims.length === expected.length && expected.every((e, i) => typeof e === 'string' || dims[i] === e);
    if (!fits) bad(`tensor '${entry.name}' has shape [${dims.join(', ')}]; ${SLOT_LABEL[slotOf(found, entry.name)]} must be [${expected.join(', ')}] (${why})`);
    return dims;
  };
  const { hidden, layers, kvHeads, headDim, heads } = target.body.config;
  const width = prefixWidth({ layers, kvHeads, headDim });
  const body = `LLM body ${target.body.id}`;

  // Multimodal tokens: [N, hidden] or [1, N, hidden].
  const tokens = take('tokens');
  const tokenDims = tokens.tensor.shape.length === 3 && tokens.tensor.shape[0] === 1 ? tokens.tensor.shape.slice(1) : tokens.tensor.shape;
  if (tokenDims.length !== 2 || tokenDims[1] !== hidden) {
    bad(
      `tensor '${tokens.name}' has shape [${tokens.tensor.shape.join(', ')}]; the multimodal tokens must be [N, ${hidden}] or [1, N, ${hidden}] (hidden = ${hidden} of the ${body})`,
    );
  }
  const N = tokenDims[0]!;
  if (N === 0) bad(`tensor '${tokens.name}' holds no token (N = 0); a soft module needs at least one multimodal token`);

  // Map: [condWidth, hidden] + [condWidth].
  const mapWeight = take('mapWeight');
  const mapBias = take('mapBias');
  const generator = `the generator${target.generatorId ? ` ${target.generatorId}` : ''} has ${target.condWidth}-wide text embeddings`;
  if (mapWeight.tensor.shape.length === 2 && mapWeight.tensor.shape[1] === hidden && mapWeight.tensor.shape[0] !== target.condWidth) {
    bad(`tensor '${mapWeight.name}' maps into ${mapWeight.tensor.shape[0]}-wide embeddings, but ${generator}; import it for a generator of that width`);
  }
  shape(mapWeight, [target.condWidth, hidden], `${generator}, hidden = ${hidden}`);
  shape(mapBias, [target.condWidth], generator);

  // Prefix: the table, or the MLP's five tensors.
  let prefix: Pick<SoftTensors, 'prefix' | 'mlp'>;
  let P: number;
  let prefixHidden: number | undefined;
  if (hasMlp) {
    const embedding = take('embedding');
    const weight0 = take('weight0');
    const bias0 = take('bias0');
    const weight2 = take('weight2');
    const bias2 = take('bias2');
    P = shape(embedding, ['P', hidden], `hidden = ${hidden} of the ${body}`)[0]!;
    prefixHidden = shape(weight0, ['prefixHidden', hidden], `hidden = ${hidden}`)[0]!;
    shape(bias0, [prefixHidden], 'the first weight has that many rows');
    shape(weight2, [width, prefixHidden], widthWhy(target, width));
    shape(bias2, [width], widthWhy(target, width));
    prefix = { mlp: { embedding: embedding.values, weight0: weight0.values, bias0: bias0.values, weight2: weight2.values, bias2: bias2.values } };
  } else {
    const table = take('prefix');
    const dims = table.tensor.shape;
    if (dims.length === 2 && dims[1] === layers * 2 * heads * headDim && kvHeads !== heads) {
      bad(
        `tensor '${table.name}' rows are layers·2·heads·headDim = ${dims[1]} wide (P-Tuning v2's layout for models without grouped-query attention), but the ${body} caches ${kvHeads} key/value heads: the prefix must be [P, layers·2·kvHeads·headDim] = [P, ${width}]`,
      );
    }
    P = shape(table, ['P', width], widthWhy(target, width))[0]!;
    prefix = { prefix: table.values };
  }
  checkSoftSizes(P, N);
  const config = { ...softConfigFor(target, { P, N, ...(prefixHidden !== undefined ? { prefixHidden } : {}) }, 'import'), importedFrom: basename(file) };
  return { config, tensors: { ...prefix, tokens: tokens.values, mapWeight: mapWeight.values, mapBias: mapBias.values } };
}

function widthWhy(target: SoftModuleTarget, width: number): string {
  const { layers, kvHeads, headDim } = target.body.config;
  return `layers·2·kvHeads·headDim = ${layers}·2·${kvHeads}·${headDim} = ${width} for the LLM body ${target.body.id}`;
}

function slotOf(found: Map<Slot, { name: string }>, name: string): Slot {
  for (const [slot, entry] of found) if (entry.name === name) return slot;
  return 'prefix';
}
