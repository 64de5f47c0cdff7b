/**
 * An LLM body's input embedding table, `embed_tokens.safetensors` beside its graph: one floating-point tensor
 * [vocab, hidden] named `model.embed_tokens.weight` (the Hugging Face name of Llama/Qwen/Mistral/Phi-3 tables; a file
 * holding a single 2-D tensor under another name is accepted too). F32, F16 and BF16 are read; rows are read from the
 * file when asked for (the header is checked once), so a 600 MB table never sits in memory.
 *
 * The fingerprint identifies the weights whatever route exported them (spec/llm-body.ts): sha256 (hex) of the text
 * `pmg-llm-body/1 hidden=H layers=L heads=A kv_heads=K head_dim=D vocab=V\n` followed by the table as float32
 * little-endian, row-major (an F16/BF16 table is widened first). A builder export and `pmg models prepare-soft` of
 * the same model therefore share it.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { readFullyAt } from '../core/file-range.js';
import { PmgError } from '../errors/pmg-error.js';
import { dtypeBytes, readSafetensorsHeader, tensorFloats, type SafetensorsEntry } from '../core/safetensors.js';
import type { LlmBodyConfig } from '../spec/llm-body.js';

export const EMBED_TOKENS_FILE = 'embed_tokens.safetensors';
export const EMBED_TOKENS_TENSOR = 'model.embed_tokens.weight';
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);
/** Rows hashed per read when fingerprinting. */
const FINGERPRINT_CHUNK_BYTES = 8 * 1024 * 1024;

/** The text hashed in front of the table: the dimensions that, with the table, identify the weights. */
export function fingerprintPrefix(config: LlmBodyConfig): string {
  return `pmg-llm-body/1 hidden=${config.hidden} layers=${config.layers} heads=${config.heads} kv_heads=${config.kvHeads} head_dim=${config.headDim} vocab=${config.vocabSize}\n`;
}

export class EmbeddingTable {
  private constructor(
    readonly file: string,
    readonly tensorName: string,
    private readonly entry: SafetensorsEntry,
    readonly vocabSize: number,
    readonly hidden: number,
  ) {}

  /** Check `file` holds a float table [vocab, hidden]; `what` names the model in messages. */
  static open(file: string, expected: { vocabSize: number; hidden: number }, what: string): EmbeddingTable {
    let header;
    try {
      header = readSafetensorsHeader(file);
    } catch (error) {
      if (error instanceof PmgError && error.code === 'file-not-found') {
        throw new PmgError(
          'model-file-missing',
          `${what} lacks its embedding table ${file}; see 'LLM bodies' in docs/soft.md for how to make it ('pmg models prepare-soft' writes one)`,
          {
            cause: error,
            details: { file },
          },
        );
      }
      throw error;
    }
    const { entries } = header;
    const twoD = [...entries].filter(([, e]) => e.shape.length === 2);
    const chosen = entries.has(EMBED_TOKENS_TENSOR)
      ? ([EMBED_TOKENS_TENSOR, entries.get(EMBED_TOKENS_TENSOR)!] as const)
      : twoD.length === 1 && entries.size === 1
        ? twoD[0]!
        : undefined;
    if (!chosen) {
      const names = [...entries.keys()].slice(0, 5).join(', ') || 'none';
      throw new PmgError(
        'model-layout',
        `${what}: ${file} has no tensor '${EMBED_TOKENS_TENSOR}' (it has ${names}); the embedding table must be stored under that name`,
        { details: { file } },
      );
    }
    const [name, entry] = chosen;
    if (!FLOAT_DTYPES.has(entry.dtype)) {
      throw new PmgError(
        'model-layout',
        `${what}: ${file} tensor '${name}' is ${entry.dtype}; an embedding table must be F32, F16 or BF16 (dequantize it first)`,
        { details: { file } },
      );
    }
    const [rows, width] = entry.shape as [number, number];
    if (entry.shape.length !== 2 || rows !== expected.vocabSize || width !== expected.hidden) {
      throw new PmgError(
        'model-layout',
        `${what}: ${file} tensor '${name}' has shape [${entry.shape.join(', ')}], but the model's config needs [${expected.vocabSize}, ${expected.hidden}] (vocab, hidden); is it the table of another model?`,
        { details: { file } },
      );
    }
    return new EmbeddingTable(file, name, entry, rows, width);
  }

  get dtype(): string {
    return this.entry.dtype;
  }

  /** Rows of the table for these token ids, as float32 [ids.length × hidden]. */
  rows(ids: readonly number[]): Float32Array {
    const rowBytes = this.hidden * dtypeBytes(this.entry.dtype);
    const out = new Float32Array(ids.length * this.hidden);
    const buffer = new Uint8Array(rowBytes);
    const fd = openSync(this.file, 'r');
    try {
      ids.forEach((id, index) => {
        if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
          throw new PmgError('invalid-argument', `token id ${id} (position ${index}) is outside the embedding table's ${this.vocabSize} rows`, {
            details: { field: `ids[${index}]` },
          });
        }
        readExactly(fd, buffer, this.entry.start + id * rowBytes, this.file);
        out.set(this.decode(buffer), index * this.hidden);
      });
    } finally {
      closeSync(fd);
    }
    return out;
  }

  /** The fingerprint of the weights (see the file comment); reads the whole table once, a chunk at a time. */
  fingerprint(config: LlmBodyConfig): string {
    const hash = createHash('sha256').update(fingerprintPrefix(config), 'utf8');
    const rowBytes = this.hidden * dtypeBytes(this.entry.dtype);
    const rowsPerChunk = Math.max(1, Math.floor(FINGERPRINT_CHUNK_BYTES / rowBytes));
    const buffer = new Uint8Array(rowsPerChunk * rowBytes);
    const fd = openSync(this.file, 'r');
    try {
      for (let row = 0; row < this.vocabSize; row += rowsPerChunk) {
        const chunk = buffer.subarray(0, Math.min(rowsPerChunk, this.vocabSize - row) * rowBytes);
        readExactly(fd, chunk, this.entry.start + row * rowBytes, this.file);
        if (this.entry.dtype === 'F32') hash.update(chunk);
        else {
          const floats = this.decode(chunk);
          hash.update(new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength));
        }
      }
    } finally {
      closeSync(fd);
    }
    return hash.digest('hex');
  }

  /** Little-endian bytes of this table's dtype → float32 (a copy; the host is little-endian, as Node's platforms are). */
  private decode(bytes: Uint8Array): Float32Array {
    return tensorFloats(this.tensorName, { dtype: this.entry.dtype, shape: [bytes.length / dtypeBytes(this.entry.dtype)], data: bytes }, this.file);
  }
}

function readExactly(fd: number, into: Uint8Array, position: number, file: string): void {
  if (!readFullyAt(fd, into, position))
    throw new PmgError('invalid-input', `${file} ends before byte ${position + into.length} (truncated?)`, { details: { file } });
}

/** The fingerprint (see the file comment) of a table held in memory, float32 [vocabSize, hidden] row-major. */
export function llmBodyFingerprint(config: LlmBodyConfig, table: Float32Array): string {
  if (table.length !== config.vocabSize * config.hidden) {
    throw new PmgError('internal', `embedding table has ${table.length} values, expected ${config.vocabSize} x ${config.hidden}`);
  }
  return createHash('sha256')
    .update(fingerprintPrefix(config), 'utf8')
    .update(new Uint8Array(table.buffer, table.byteOffset, table.byteLength))
    .digest('hex');
}
