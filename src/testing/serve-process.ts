/**
 * `pmg serve` as a child process for tests (restart, load, bench): started on port 0, its URL read from the line it
 * prints once listening, stopped with a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../core/package-root.js';

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Sends the signal and waits for the exit; resolves the exit code or signal. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export async function startServeProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'pmg.js'), 'serve', '--port', '0', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk) => (err += String(chunk)));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      out += String(chunk);
      const match = /listening on (http:\/\/\S+?)\/? /.exec(out);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`pmg serve exited (${code}) before listening: ${err.trim()}`)));
  });
  return {
    url,
    child,
    stderr: () => err,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
