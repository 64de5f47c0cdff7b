import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The folder that holds pmg's package.json, found by walking up from this file.
 * Non-code assets (prompt templates, sample data, reference values) are read relative to it,
 * so they are found whether the code runs from dist/ or from another build folder.
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name;
      if (name === 'pmg') return (cached = dir);
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('pmg: cannot find the package root (package.json named "pmg")');
    dir = parent;
  }
}

/** Path of a file shipped with the package, e.g. `assetPath('assets', 'prompts', 'movie.json')`. */
export function assetPath(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
