/**
 * Where the soft branch gets its LLM body (spec/llm-body.ts) from: `openLlmBody(spec, options)` turns `--llm-body DIR|ID`
 * into an LlmBody. The loader itself lives with the bodies (runtime/llm-body*.ts, `loadLlmBody`); this module is the
 * one seam between them and the soft branch, so the CLI, eval, demo and bench never import a loader directly.
 * Until a loader is installed (`setLlmBodyLoader`), opening a body is one clear `unsupported` error.
 *
 * `llmBodyFingerprint` is the fingerprint a body reports and a soft module records: sha256 (hex) of the text
 * `pmg-llm-body/1 hidden=H layers=L heads=A kv_heads=K head_dim=D vocab=V\n` followed by the embedding table as
 * float32, little-endian, row-major [vocabSize, hidden]. It identifies the weights whatever route exported them; the
 * body loaders compute the same value from embed_tokens.safetensors.
 */
import { createHash } from 'node:crypto';
import { PmgError } from '../errors/pmg-error.js';
import type { ModelStore } from '../runtime/model-store.js';
import type { LlmBody, LlmBodyConfig } from '../spec/llm-body.js';

export interface OpenLlmBodyOptions {
  store: ModelStore;
  device?: 'cpu' | 'cuda';
  threads?: number;
}

export type LlmBodyLoader = (spec: string, options: OpenLlmBodyOptions) => Promise<LlmBody>;

let installed: LlmBodyLoader | undefined;

/** Install the loader `openLlmBody` uses (undefined: none). Returns the one it replaces. */
export function setLlmBodyLoader(loader: LlmBodyLoader | undefined): LlmBodyLoader | undefined {
  const previous = installed;
  installed = loader;
  return previous;
}

/** The LLM body of `spec` (a folder or hub repo id). */
export async function openLlmBody(spec: string, options: OpenLlmBodyOptions): Promise<LlmBody> {
  if (!spec.trim()) throw new PmgError('invalid-argument', '--llm-body is empty; give the LLM body folder or hub id the soft module was made for');
  if (!installed) {
    throw new PmgError('unsupported', `cannot open the LLM body ${spec}: this build of pmg has no LLM body loader (see docs/soft.md, "LLM bodies")`, { details: { spec } });
  }
  return installed(spec, options);
}

/** The fingerprint of an LLM body's weights (see the header). */
export function llmBodyFingerprint(config: LlmBodyConfig, embedTable: Float32Array): string {
  if (embedTable.length !== config.vocabSize * config.hidden) {
    throw new PmgError('internal', `embedding table has ${embedTable.length} values, expected ${config.vocabSize} x ${config.hidden}`);
  }
  const dims = `pmg-llm-body/1 hidden=${config.hidden} layers=${config.layers} heads=${config.heads} kv_heads=${config.kvHeads} head_dim=${config.headDim} vocab=${config.vocabSize}\n`;
  const hash = createHash('sha256').update(dims, 'utf8');
  const bytes = new Uint8Array(embedTable.buffer, embedTable.byteOffset, embedTable.byteLength);
  if (littleEndian()) hash.update(bytes);
  else {
    const copy = new DataView(new ArrayBuffer(embedTable.byteLength));
    embedTable.forEach((v, i) => copy.setFloat32(i * 4, v, true));
    hash.update(new Uint8Array(copy.buffer));
  }
  return hash.digest('hex');
}

function littleEndian(): boolean {
  return new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
}
