/**
 * The fingerprint of a model set (issue 14): what a queue worker and the eval that enqueues its units compare, so a
 * run's results come from the run's models. It is computed from the spec (no model loads) and is host-independent:
 * - a local folder (a `--models` folder's llm/, clip/, sd/, taesd/, or a folder given for one part) counts by its
 *   contents, not its absolute path: every JSON/text file's bytes (configs, tokenizers) and every other file's
 *   size and first and last 64 KiB (ONNX weights, external-data sidecars: a fine-tune of the same architecture
 *   differs there, without reading gigabytes) under its path relative to the folder;
 * - anything else by its spec text: a hub id (with its revision when given), an API LLM, a remote generator's id.
 * The fingerprint is `mf-` and 16 hex digits of the sha256 over those parts (and the LLM model and final decoder).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { canonicalJson } from '../experiments/run-config.js';
import { resolveModelSpecs, type GeneratorModelSetSpec } from '../providers/model-set.js';

/** Files whose bytes count (small, and they say which weights these are); the others by size, head and tail. */
const CONTENT_FILE = /\.(json|txt|model|yaml|yml)$/i;
const EDGE_BYTES = 64 * 1024;

/** The parts of a model set's fingerprint: each model by its folder digest or its spec (for messages and tests). */
export interface FingerprintParts {
  llm: string;
  llmModel?: string;
  clip: string;
  sd: string;
  decoder?: string;
  finalDecoder: string;
}

export function fingerprintParts(spec: GeneratorModelSetSpec, cwd: string): FingerprintParts {
  const specs = resolveModelSpecs(spec, cwd);
  return {
    llm: partOf(specs.llm, cwd),
    ...(specs.llmModel ? { llmModel: specs.llmModel } : {}),
    clip: partOf(specs.clip, cwd),
    sd: partOf(specs.sd, cwd),
    ...(specs.decoder ? { decoder: partOf(specs.decoder, cwd) } : {}),
    finalDecoder: spec.generator ? (spec.finalDecoder ?? 'vae') : specs.finalDecoder,
  };
}

/** The fingerprint of the models a spec names (what `pmg worker` and `pmg eval --queue` compare). */
export function modelFingerprint(spec: GeneratorModelSetSpec, cwd: string): string {
  return (
    'mf-' +
    createHash('sha256')
      .update(canonicalJson(fingerprintParts(spec, cwd)))
      .digest('hex')
      .slice(0, 16)
  );
}

/** This host's fingerprint of the run's models, or undefined when it cannot tell (a models folder only the workers have). */
export function localFingerprint(spec: GeneratorModelSetSpec, cwd: string): string | undefined {
  try {
    return modelFingerprint(spec, cwd);
  } catch (error) {
    if (error instanceof PmgError && error.details.field === 'models') return undefined;
    throw error;
  }
}

/** A part's folder digest when its spec (or its `onnx:` target) is a folder here, else the spec itself. */
function partOf(spec: string, cwd: string): string {
  const target = /^onnx:/.test(spec) ? spec.slice(5) : spec;
  const dir = resolve(cwd, target);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return spec;
  return `${spec === target ? '' : 'onnx:'}folder:${folderDigest(dir)}`;
}

/** sha256 over the folder's files: relative path and bytes (config-like files) or size, head and tail (weights). */
export function folderDigest(dir: string): string {
  const hash = createHash('sha256');
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile()) {
        const rel = relative(dir, path).split('\\').join('/');
        hash.update(`${rel}\0`);
        if (CONTENT_FILE.test(name)) hash.update(readFileSync(path));
        else {
          hash.update(`size:${stat.size}`);
          hash.update(edges(path, stat.size));
        }
        hash.update('\0');
      }
    }
  };
  walk(dir);
  return hash.digest('hex').slice(0, 16);
}

/** The first and last EDGE_BYTES of a file (the whole file when it is smaller than both). */
function edges(path: string, size: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    if (size <= 2 * EDGE_BYTES) {
      const all = Buffer.alloc(size);
      readSync(fd, all, 0, size, 0);
      return all;
    }
    const buffer = Buffer.alloc(2 * EDGE_BYTES);
    readSync(fd, buffer, 0, EDGE_BYTES, 0);
    readSync(fd, buffer, EDGE_BYTES, EDGE_BYTES, size - EDGE_BYTES);
    return buffer;
  } finally {
    closeSync(fd);
  }
}
