/**
 * Copies of ONNX graphs with their attention fused into onnxruntime's MultiHeadAttention kernel
 * (onnx-attention-fusion.ts), kept beside the graph they were made from: `unet/model.onnx` (or its fp32 copy
 * `unet/model.fp32.onnx`) -> `unet/model[.fp32].fused.onnx`. The copy holds the rewritten graph only: its weights stay
 * in the source's external-data file, which it names by the same relative path, so no gigabytes are written. A graph
 * with no recognised attention gets a small `.fused.none` note instead, so it is not read again on every load.
 * Graphs that keep their weights inline (past `INLINE_LIMIT_BYTES`) are left alone: a copy would duplicate them.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { writeFileAtomicSync } from '../core/atomic-write.js';
import { fuseAttention, type AttentionFusionResult } from './onnx-attention-fusion.js';

const { onnx } = onnxProto;

export const FUSED_SUFFIX = '.fused.onnx';
const NONE_SUFFIX = '.fused.none';
/** A graph file larger than this keeps (some of) its weights inline: no fused copy. */
export const INLINE_LIMIT_BYTES = 256 * 1024 * 1024;

/** `unet/model.fp32.onnx` -> `unet/model.fp32.fused.onnx`. */
export function fusedCopyPath(onnxPath: string): string {
  return onnxPath.replace(/\.onnx$/, FUSED_SUFFIX);
}

function fresh(copy: string, source: string): boolean {
  return existsSync(copy) && statSync(copy).mtimeMs >= statSync(source).mtimeMs;
}

/** The fused copy of `onnxPath` when there is a fresh one. */
export function freshFusedCopy(onnxPath: string): string | undefined {
  const copy = fusedCopyPath(onnxPath);
  return copy !== onnxPath && existsSync(onnxPath) && fresh(copy, onnxPath) ? copy : undefined;
}

export interface FusedCopyResult {
  /** 'fused' now, 'kept' (a fresh copy was there), 'none' (no attention recognised), 'inline' (weights inline: skipped). */
  status: 'fused' | 'kept' | 'none' | 'inline';
  fusion?: AttentionFusionResult;
  ms?: number;
}

/** Make the fused copy of one graph unless it is fresh or known to have nothing to fuse. */
export function ensureFusedCopy(onnxPath: string): FusedCopyResult {
  const copy = fusedCopyPath(onnxPath);
  const none = onnxPath.replace(/\.onnx$/, NONE_SUFFIX);
  if (fresh(copy, onnxPath)) return { status: 'kept' };
  if (fresh(none, onnxPath)) return { status: 'none' };
  if (statSync(onnxPath).size > INLINE_LIMIT_BYTES) return { status: 'inline' };
  const started = performance.now();
  const model = onnx.ModelProto.decode(readFileSync(onnxPath));
  const fusion = fuseAttention(model);
  if (fusion.fused === 0) {
    writeFileAtomicSync(none, `${JSON.stringify(fusion)}\n`);
    return { status: 'none', fusion };
  }
  writeFileAtomicSync(copy, onnx.ModelProto.encode(model).finish());
  return { status: 'fused', fusion, ms: performance.now() - started };
}
