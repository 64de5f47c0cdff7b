/**
 * `pmg models prepare-soft`: makes an LLM body folder (llm-body-layout.ts, route 'prepare-soft') from a
 * transformers.js/Optimum text-generation export — a folder or a hub repo id with config.json, the tokenizer files
 * and onnx/model{,_quantized,_fp16,...}.onnx (+ external data):
 *
 *   model.onnx                 the graph rewritten by onnx-soft-rewrite.ts (inputs_embeds → last_hidden_state)
 *   model.onnx_data, ...       the source's external-data files, linked (or copied) unchanged: the graph keeps its
 *                              references, so a model past protobuf's 2 GB stays external; only the graph is rewritten
 *   embed_tokens.safetensors   the embedding table (`model.embed_tokens.weight`), streamed out, dequantized once
 *   config.json, generation_config.json, tokenizer files      copied
 *   pmg-body.json              the layout (PMG_BODY_FORMAT): genai_config.json's `model` shape, plus `embeddings` and `source`
 *
 * Everything is written into `<out>.tmp-<pid>` and renamed to `<out>` when complete; a refusal or failure leaves
 * nothing. `tableOnly` writes only `<out>/embed_tokens.safetensors` (for builder exports, which ship no table).
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import { swapFolderSync } from '../core/atomic-write.js';
import { parseJson } from '../core/json-text.js';
import { packageVersion } from '../core/package-root.js';
import { PmgError } from '../errors/pmg-error.js';
import type { LlmBodyConfig } from '../spec/llm-body.js';
import { EMBED_TOKENS_FILE, EMBED_TOKENS_TENSOR } from './llm-body-embeddings.js';
import { PMG_BODY_FILE, PMG_BODY_FORMAT, PMG_BODY_FORMAT_VERSION } from './llm-body-layout.js';
import type { ModelStore } from './model-store.js';
import { writeEmbeddingTable } from './onnx-embedding-table.js';
import { rewriteForSoft, SOFT_EMBEDS_INPUT, SOFT_HIDDEN_OUTPUT, type SoftRewrite } from './onnx-soft-rewrite.js';
import { isExternal } from './onnx-tensor-data.js';
import { onnxFile } from './transformers-loading.js';
import { requireModelFiles, type TransformersDtype } from './transformers-options.js';

const { onnx } = onnxProto;

/** Files copied from the source folder when present. */
export const PREPARE_SOFT_COPIED = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
  'added_tokens.json',
];
export const PREPARE_SOFT_DTYPES: readonly TransformersDtype[] = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'];

export interface PrepareSoftOptions {
  /** Which graph of the export: fp32 → onnx/model.onnx, q8 → onnx/model_quantized.onnx, fp16 → onnx/model_fp16.onnx, ... */
  dtype?: TransformersDtype;
  /** Resolves hub repo ids; without one only local folders are read. */
  store?: ModelStore;
  /** Write only `<out>/embed_tokens.safetensors` (into an existing folder, e.g. a builder export). */
  tableOnly?: boolean;
  /** Checks the finished folder in its temporary place (e.g. loads it); a throw removes it. */
  check?: (temporaryDir: string) => Promise<void>;
}

export interface PreparedBody {
  out: string;
  source: { id: string; dir: string; file: string };
  config: LlmBodyConfig;
  table: { dtype: string; from: string; file: string };
  hiddenFrom: string;
  positions: boolean;
  /** External-data files placed beside the graph, and how. */
  externalData: Array<{ file: string; how: 'linked' | 'copied' }>;
  /** What the rewrite took out: inputs and outputs by name, node and initializer counts. */
  removed: { inputs: string[]; outputs: string[]; nodes: number; initializers: number };
  files: Array<{ path: string; bytes: number }>;
}

function refuse(message: string, details: Record<string, unknown> = {}): never {
  throw new PmgError('model-layout', message, { details });
}

/** Dimensions from a transformers config.json. */
export function configDims(path: string): LlmBodyConfig {
  const config = parseJson(readFileSync(path, 'utf8'), path) as Record<string, unknown>;
  const positive = (field: string, value: unknown): number => {
    if (!Number.isSafeInteger(value) || (value as number) < 1)
      refuse(`${path}: ${field} must be a positive integer, got ${JSON.stringify(value ?? null)}`, { file: path });
    return value as number;
  };
  const hidden = positive('hidden_size', config.hidden_size);
  const heads = positive('num_attention_heads', config.num_attention_heads);
  return {
    hidden,
    layers: positive('num_hidden_layers', config.num_hidden_layers),
    heads,
    kvHeads: positive('num_key_value_heads', config.num_key_value_heads ?? heads),
    headDim: positive('head_dim', config.head_dim ?? hidden / heads),
    vocabSize: positive('vocab_size', config.vocab_size),
    ...(config.max_position_embeddings !== undefined ? { maxPositions: positive('max_position_embeddings', config.max_position_embeddings) } : {}),
  };
}

interface Source {
  dir: string;
  id: string;
  /** Fetches more files of a hub repo (the external-data files the graph names); a no-op for a folder. */
  fetch(files: string[]): Promise<void>;
}

async function resolveSource(spec: string, file: string, store: ModelStore | undefined): Promise<Source> {
  if (store && store.parse(spec).kind === 'hub') {
    const include = [...PREPARE_SOFT_COPIED, file];
    const pulled = await store.pull(spec, { include });
    return {
      dir: pulled.dir,
      id: `${pulled.id}@${pulled.commit ?? pulled.revision ?? 'main'}`,
      fetch: async (files) => {
        if (files.length > 0) await store.pull(spec, { include: [...include, ...files] });
      },
    };
  }
  return { dir: resolve(store?.options.cwd ?? process.cwd(), spec), id: spec, fetch: async () => undefined };
}

/** The external-data files the graph's initializers name (plain file names beside the graph). */
function externalLocations(graph: onnxProto.onnx.IGraphProto): string[] {
  const locations = new Set<string>();
  for (const t of graph.initializer ?? []) {
    const location = isExternal(t) ? t.externalData?.find((e) => e.key === 'location')?.value : undefined;
    if (location) locations.add(location);
  }
  return [...locations].sort();
}

/** Make an LLM body in `out` from the text-generation export `spec`. */
export async function prepareSoft(spec: string, out: string, options: PrepareSoftOptions = {}): Promise<PreparedBody> {
  const dtype = options.dtype ?? 'fp32';
  if (!PREPARE_SOFT_DTYPES.includes(dtype))
    throw new PmgError('invalid-argument', `dtype '${dtype}' is not one of ${PREPARE_SOFT_DTYPES.join(', ')}`, { details: { field: 'dtype' } });
  const file = onnxFile('model', dtype);
  const target = resolve(out);
  const tableFile = join(target, EMBED_TOKENS_FILE);
  if (options.tableOnly ? existsSync(tableFile) : existsSync(target) && (!statSync(target).isDirectory() || readdirSync(target).length > 0)) {
    throw new PmgError('invalid-argument', `out: ${options.tableOnly ? tableFile : target} already exists; remove it or choose another folder`, {
      details: { field: 'out', path: target },
    });
  }
  const source = await resolveSource(spec, file, options.store);
  requireModelFiles(source.dir, ['config.json', 'tokenizer.json', 'tokenizer_config.json', file], 'text-generation export');
  const what = `${source.id} (${file})`;
  const config = configDims(join(source.dir, 'config.json'));
  const graphPath = join(source.dir, file);
  const graphDir = dirname(graphPath);
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(readFileSync(graphPath));
  } catch (error) {
    throw new PmgError('model-layout', `cannot make an LLM body of ${what}: it is not a readable ONNX model (${(error as Error).message.split('\n')[0]})`, {
      cause: error,
      details: { path: graphPath },
    });
  }
  await source.fetch(
    externalLocations(model.graph ?? {})
      .filter((location) => basename(location) === location)
      .map((location) => join(dirname(file), location)),
  );
  const rewrite = rewriteForSoft(model, graphDir, what);
  const fail = (why: string): never => refuse(`cannot make an LLM body of ${what}: ${why}`, { path: graphPath });
  const { table } = rewrite;
  if (table.hidden !== config.hidden || table.vocab !== config.vocabSize) {
    fail(`its embedding table is [${table.vocab}, ${table.hidden}] but config.json says vocab_size ${config.vocabSize}, hidden_size ${config.hidden}`);
  }
  checkPastInputs(model.graph!, rewrite, config, fail);
  const metadata = { format: 'pt', 'pmg.source': `${source.id} ${file}`, 'pmg.table': table.description };

  if (options.tableOnly) {
    mkdirSync(target, { recursive: true });
    const written = writeEmbeddingTable(table, graphDir, tableFile, metadata, fail);
    return result(target, source, file, config, rewrite, written.dtype, [], [{ path: EMBED_TOKENS_FILE, bytes: written.bytes }]);
  }

  const temporary = `${target}.tmp-${process.pid}`;
  rmSync(temporary, { recursive: true, force: true });
  mkdirSync(temporary, { recursive: true });
  try {
    const externalData = placeExternalData(model.graph!, graphDir, temporary, fail);
    const written = writeEmbeddingTable(table, graphDir, join(temporary, EMBED_TOKENS_FILE), metadata, fail);
    model.metadataProps = [
      ...(model.metadataProps ?? []).filter((p) => p.key !== 'pmg.prepare_soft'),
      { key: 'pmg.prepare_soft', value: `from ${source.id} ${file}` },
    ];
    writeFileSync(join(temporary, 'model.onnx'), onnx.ModelProto.encode(model).finish());
    for (const name of PREPARE_SOFT_COPIED) if (existsSync(join(source.dir, name))) copyFileSync(join(source.dir, name), join(temporary, name));
    const description = bodyDescription(
      source,
      file,
      config,
      rewrite,
      written.dtype,
      externalData.map((d) => d.file),
    );
    writeFileSync(join(temporary, PMG_BODY_FILE), `${JSON.stringify(description, null, 2)}\n`);
    await options.check?.(temporary);
    mkdirSync(dirname(target), { recursive: true });
    swapFolderSync(temporary, target);
    const files = readdirSync(target)
      .sort()
      .map((name) => ({ path: name, bytes: statSync(join(target, name)).size }));
    return result(target, source, file, config, rewrite, written.dtype, externalData, files);
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
}

function result(
  out: string,
  source: { id: string; dir: string },
  file: string,
  config: LlmBodyConfig,
  rewrite: SoftRewrite,
  dtype: string,
  externalData: PreparedBody['externalData'],
  files: PreparedBody['files'],
): PreparedBody {
  return {
    out,
    source: { ...source, file },
    config,
    table: { dtype, from: rewrite.table.description, file: join(out, EMBED_TOKENS_FILE) },
    hiddenFrom: rewrite.hiddenFrom,
    positions: rewrite.positions,
    externalData,
    removed: rewrite.removed,
    files,
  };
}

/** The graph's cache inputs: one key and one value per layer, [batch, kvHeads, past, headDim] where the dims are numbers. */
function checkPastInputs(graph: onnxProto.onnx.IGraphProto, rewrite: SoftRewrite, config: LlmBodyConfig, fail: (why: string) => never): void {
  for (let layer = 0; layer < config.layers; layer++) {
    for (const part of ['key', 'value']) {
      const name = `past_key_values.${layer}.${part}`;
      const input = (graph.input ?? []).find((v) => v.name === name);
      if (!input)
        fail(
          `it has no input ${name}; config.json says ${config.layers} layers and pmg needs the graph's key/value cache inputs (past_key_values.{i}.key/value)`,
        );
      const dims = input!.type?.tensorType?.shape?.dim ?? [];
      const heads = dims[1]?.dimValue;
      const headDim = dims[3]?.dimValue;
      if ((heads && Number(heads) !== config.kvHeads) || (headDim && Number(headDim) !== config.headDim)) {
        fail(
          `its input ${name} is [${dims.map((d) => d.dimParam || String(d.dimValue)).join(', ')}] but config.json says ${config.kvHeads} key/value heads of size ${config.headDim}`,
        );
      }
    }
  }
  if (rewrite.pastInputs.length !== 2 * config.layers)
    fail(`it has ${rewrite.pastInputs.length} past_key_values inputs, but config.json says ${config.layers} layers`);
}

/** Link (else copy) the external-data files the kept initializers read into `dir`, under the names the graph uses. */
function placeExternalData(graph: onnxProto.onnx.IGraphProto, graphDir: string, dir: string, fail: (why: string) => never): PreparedBody['externalData'] {
  const locations = new Set<string>();
  for (const t of graph.initializer ?? []) {
    if (!isExternal(t)) continue;
    const location = t.externalData?.find((e) => e.key === 'location')?.value;
    if (!location || basename(location) !== location) fail(`tensor ${t.name} keeps its data in '${location ?? ''}', not in a file beside the graph`);
    if (!existsSync(join(graphDir, location!))) fail(`tensor ${t.name} is in ${location}, which is missing beside the graph`);
    locations.add(location!);
  }
  return [...locations].sort().map((location) => {
    try {
      linkSync(join(graphDir, location), join(dir, location));
      return { file: location, how: 'linked' as const };
    } catch {
      copyFileSync(join(graphDir, location), join(dir, location));
      return { file: location, how: 'copied' as const };
    }
  });
}

/** pmg-body.json: genai_config.json's `model` shape for the loader, and where the body came from. */
function bodyDescription(
  source: { id: string },
  file: string,
  config: LlmBodyConfig,
  rewrite: SoftRewrite,
  tableDtype: string,
  externalData: string[],
): Record<string, unknown> {
  return {
    format: PMG_BODY_FORMAT,
    format_version: PMG_BODY_FORMAT_VERSION,
    model: {
      vocab_size: config.vocabSize,
      ...(config.maxPositions !== undefined ? { context_length: config.maxPositions } : {}),
      decoder: {
        filename: 'model.onnx',
        hidden_size: config.hidden,
        head_size: config.headDim,
        num_attention_heads: config.heads,
        num_key_value_heads: config.kvHeads,
        num_hidden_layers: config.layers,
        inputs: {
          inputs_embeds: SOFT_EMBEDS_INPUT,
          attention_mask: 'attention_mask',
          ...(rewrite.positions ? { position_ids: 'position_ids' } : {}),
          past_key_names: 'past_key_values.%d.key',
          past_value_names: 'past_key_values.%d.value',
        },
        outputs: { hidden_states: SOFT_HIDDEN_OUTPUT, present_key_names: 'present.%d.key', present_value_names: 'present.%d.value' },
      },
    },
    embeddings: { filename: EMBED_TOKENS_FILE, tensor: EMBED_TOKENS_TENSOR, dtype: tableDtype, from: rewrite.table.description },
    external_data: externalData,
    source: {
      model: source.id,
      file,
      hidden_states_from: rewrite.hiddenFrom,
      removed_inputs: rewrite.removed.inputs,
      removed_outputs: rewrite.removed.outputs,
    },
    written_by: `pmg ${safeVersion()} models prepare-soft`,
  };
}

function safeVersion(): string {
  try {
    return packageVersion();
  } catch {
    return 'dev';
  }
}
