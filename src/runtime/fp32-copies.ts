/**
 * fp32 copies of fp16 ONNX graphs, kept beside the original (`unet/model.onnx` -> `unet/model.fp32.onnx` and
 * `unet/model.fp32.onnx.data`). Made once, when a model is pulled with `--dtype fp32` or when a hub model is loaded
 * on CPU; a loader on CPU takes the copy when there is one that is newer than its original. fp16 stays for CUDA.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { freshFusedCopy } from './attention-copies.js';
import { convertOnnxToFp32, type Fp32Conversion } from './onnx-fp32.js';
import { isFp16Graph, scanOnnxDtypes } from './onnx-scan.js';

export const FP32_SUFFIX = '.fp32.onnx';

/** `unet/model.onnx` -> `unet/model.fp32.onnx`. */
export function fp32CopyPath(onnxPath: string): string {
  return onnxPath.replace(/\.onnx$/, FP32_SUFFIX);
}

function freshCopy(onnxPath: string): boolean {
  const copy = fp32CopyPath(onnxPath);
  return copy !== onnxPath && existsSync(copy) && statSync(copy).mtimeMs >= statSync(onnxPath).mtimeMs;
}

/** On CPU the fp32 copy of `onnxPath` when there is a fresh one, else `onnxPath`. */
export function precisionFileFor(onnxPath: string, device: 'cpu' | 'cuda'): string {
  return device === 'cpu' && existsSync(onnxPath) && freshCopy(onnxPath) ? fp32CopyPath(onnxPath) : onnxPath;
}

/**
 * The file a session should load: on CPU the fp32 copy of `onnxPath` when there is a fresh one, and of that, the
 * copy with fused attention (attention-copies.ts) when there is one; else `onnxPath`.
 */
export function onnxFileFor(onnxPath: string, device: 'cpu' | 'cuda', options: { fusedAttention?: boolean } = {}): string {
  const base = precisionFileFor(onnxPath, device);
  return device === 'cpu' && options.fusedAttention !== false ? (freshFusedCopy(base) ?? base) : base;
}

export interface Fp32CopyResult {
  /** Relative path of the graph. */
  file: string;
  /** 'converted' now, 'kept' (a fresh copy was there), 'fp32' (nothing to do). */
  status: 'converted' | 'kept' | 'fp32';
  conversion?: Fp32Conversion;
}

/**
 * For each ONNX graph `files` (relative to `dir`) that computes in fp16, make its fp32 copy unless a fresh one exists.
 * `onConvert` hears about each conversion before it starts (it takes seconds for a UNet).
 */
export function ensureFp32Copies(dir: string, files: readonly string[], onConvert?: (file: string) => void): Fp32CopyResult[] {
  const results: Fp32CopyResult[] = [];
  for (const file of files) {
    if (!file.endsWith('.onnx') || file.endsWith(FP32_SUFFIX)) continue;
    const path = join(dir, file);
    if (!existsSync(path)) continue;
    if (!isFp16Graph(scanOnnxDtypes(path))) {
      results.push({ file, status: 'fp32' });
    } else if (freshCopy(path)) {
      results.push({ file, status: 'kept' });
    } else {
      onConvert?.(file);
      results.push({ file, status: 'converted', conversion: convertOnnxToFp32(path, fp32CopyPath(path)) });
    }
  }
  return results;
}
