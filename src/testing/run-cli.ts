/**
 * Run `pmg <argv>` in process for a test: the CLI's `main` with stdout and stderr captured as text,
 * the given environment (nothing of process.env) and working folder.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** The working folder relative paths are resolved against. */
  cwd: string;
  /** The whole environment the command sees (default: empty). */
  env?: NodeJS.ProcessEnv;
}

export async function runCli(argv: readonly string[], options: CliRunOptions): Promise<CliRun> {
  const stdout = new TextSink();
  const stderr = new TextSink();
  const code = await main([...argv], { stdout, stderr, env: options.env ?? {}, cwd: options.cwd });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** `pmg <argv>` offline in `dir`, with its own cache under `<dir>/cache` (plus any `env` given). */
export function runCliOffline(argv: readonly string[], dir: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(argv, { cwd: dir, env: { PMG_OFFLINE: '1', PMG_CACHE_DIR: join(dir, 'cache'), ...env } });
}

/** A stream that keeps what is written to it (not a terminal). */
class TextSink extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += String(chunk);
    done();
  }
}
