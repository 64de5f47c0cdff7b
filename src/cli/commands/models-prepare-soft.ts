/**
 * `pmg models prepare-soft <folder|repo id> --out DIR`: makes an LLM body for the soft preference branch from a
 * transformers.js/Optimum text-generation export (runtime/prepare-soft.ts), checks that it loads and runs, and
 * prints what it did. `--table-only` writes just the embedding table, e.g. into an onnxruntime-genai builder export.
 */
import { join, resolve } from 'node:path';
import { formatBytes } from '../../core/progress.js';
import { PmgError } from '../../errors/pmg-error.js';
import { EMBED_TOKENS_FILE, EmbeddingTable } from '../../runtime/llm-body-embeddings.js';
import { loadLlmBody } from '../../runtime/llm-body.js';
import { SessionPool } from '../../runtime/onnx-session.js';
import { prepareSoft, PREPARE_SOFT_DTYPES, type PreparedBody } from '../../runtime/prepare-soft.js';
import type { TransformersDtype } from '../../runtime/transformers-options.js';
import { booleanOption, stringOption, type Command } from '../command.js';
import { checkOutputFolder } from '../output-paths.js';
import { modelStoreForCommand } from '../store-from-context.js';

export const modelsPrepareSoftCommand: Command = {
  name: 'models prepare-soft',
  summary: 'make an LLM body (embeddings in, final hidden states out) from a text-generation export, for --soft',
  usage: '<folder|owner/name> --out DIR [--dtype fp32|q8|fp16|...] [--table-only] [--skip-check] [--json]',
  positionals: {
    name: 'model',
    description: 'a transformers.js/Optimum text-generation export (config.json, tokenizer files, onnx/model*.onnx): a folder or a hub repo id',
    min: 1,
    max: 1,
  },
  options: {
    out: {
      type: 'string',
      short: 'o',
      value: 'DIR',
      description: 'the body folder to write (must not exist or be empty); with --table-only, the folder that gets embed_tokens.safetensors',
    },
    dtype: {
      type: 'string',
      value: 'DTYPE',
      description: `which graph of the export: ${PREPARE_SOFT_DTYPES.join(', ')} (fp32: onnx/model.onnx, q8: onnx/model_quantized.onnx, fp16: onnx/model_fp16.onnx; default fp32)`,
    },
    'table-only': {
      type: 'boolean',
      description: 'write only <out>/embed_tokens.safetensors (the table an onnxruntime-genai builder export made with exclude_embeds lacks)',
    },
    'skip-check': {
      type: 'boolean',
      description: 'do not load the new body and run one token through it before keeping it (the check loads the whole model once)',
    },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  details: [
    "The embedding lookup (the Gather on input_ids) becomes the input inputs_embeds, the final norm's output the output",
    'last_hidden_state; the LM head, logits and unused inputs go. The table is written to embed_tokens.safetensors',
    '(model.embed_tokens.weight; an int8/uint8 q8 table is dequantized once). External data (model.onnx_data, past',
    "protobuf's 2 GB) stays external: the files are linked (or copied) beside the new graph, only the graph is rewritten.",
    'The folder is written under a temporary name and renamed when complete; a graph pmg cannot rewrite is one line naming',
    'the node or pattern it did not find, and nothing is written. Load the result with --llm-body DIR. See docs/soft.md.',
    '',
    'Examples:',
    '  pmg models prepare-soft fx/llm --out fx/body2',
    '  pmg models prepare-soft onnx-community/Qwen2.5-0.5B-Instruct --dtype q8 --out qwen-body',
    '  pmg models prepare-soft onnx-community/Qwen2.5-0.5B-Instruct --table-only --out qwen-genai-export/',
  ].join('\n'),
  async run(context) {
    const outText = stringOption(context, 'out');
    if (!outText) throw new PmgError('invalid-argument', "'pmg models prepare-soft' needs --out DIR, the body folder to write");
    const out = resolve(context.io.cwd, outText);
    checkOutputFolder(out, '--out');
    const dtypeText = stringOption(context, 'dtype') ?? 'fp32';
    if (!PREPARE_SOFT_DTYPES.includes(dtypeText as TransformersDtype))
      throw new PmgError('invalid-argument', `--dtype must be one of ${PREPARE_SOFT_DTYPES.join(', ')}, got '${dtypeText}'`);
    const tableOnly = booleanOption(context, 'table-only');
    const store = modelStoreForCommand(context);
    let fingerprint: string | undefined;
    const pool = new SessionPool({ intraOpThreads: 1 });
    let prepared: PreparedBody;
    try {
      prepared = await prepareSoft(context.positionals[0]!, out, {
        dtype: dtypeText as TransformersDtype,
        store,
        tableOnly,
        ...(tableOnly || booleanOption(context, 'skip-check')
          ? {}
          : {
              check: async (dir: string) => {
                // The body must load and run: one token, no prefix.
                const body = await loadLlmBody(dir, { pool });
                await body.forward(body.embed([0]));
                fingerprint = body.fingerprint;
              },
            }),
      });
    } finally {
      await pool.releaseAll();
    }
    fingerprint ??= EmbeddingTable.open(prepared.table.file, prepared.config, `LLM body ${out}`).fingerprint(prepared.config);
    const { stdout } = context.io;
    if (booleanOption(context, 'json')) {
      stdout.write(`${JSON.stringify({ ...prepared, fingerprint }, null, 2)}\n`);
      return 0;
    }
    const c = prepared.config;
    stdout.write(
      `${tableOnly ? 'embedding table' : 'LLM body'} written to ${tableOnly ? join(out, EMBED_TOKENS_FILE) : out} (from ${prepared.source.id}, ${prepared.source.file})\n`,
    );
    stdout.write(
      `  dims: hidden ${c.hidden}, layers ${c.layers}, heads ${c.heads} (key/value heads ${c.kvHeads}), head size ${c.headDim}, vocab ${c.vocabSize}\n`,
    );
    stdout.write(`  embedding table: ${EMBED_TOKENS_FILE} ${prepared.table.dtype} [${c.vocabSize}, ${c.hidden}] from the ${prepared.table.from}\n`);
    if (!tableOnly) {
      stdout.write(`  hidden states: last_hidden_state = ${prepared.hiddenFrom}\n`);
      stdout.write(
        `  removed: inputs ${prepared.removed.inputs.join(', ') || 'none'}; outputs ${prepared.removed.outputs.join(', ') || 'none'}; ${prepared.removed.nodes} nodes, ${prepared.removed.initializers} weights\n`,
      );
      for (const data of prepared.externalData) stdout.write(`  external data: ${data.file} ${data.how} beside the graph\n`);
    }
    stdout.write(`  fingerprint: ${fingerprint}\n`);
    for (const file of prepared.files) stdout.write(`  ${file.path}  ${formatBytes(file.bytes)}\n`);
    return 0;
  },
};
