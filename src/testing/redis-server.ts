/**
 * A throwaway redis-server for tests: a free loopback port, persistence off (unless asked), killed by stop().
 * `redisSkip` is the reason to skip when the binary is missing (CI installs Debian's redis-server in .ci/run).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const BINARY = process.env.PMG_REDIS_SERVER ?? 'redis-server';

export const redisSkip: string | false = spawnSync(BINARY, ['--version']).status === 0 ? false : `${BINARY} is not installed (apt-get install redis-server)`;

export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** A loopback port nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

export async function startRedis(options: { port?: number; dir?: string } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const persistence = options.dir ? ['--dir', options.dir, '--appendonly', 'yes', '--appendfsync', 'always'] : ['--save', '', '--appendonly', 'no'];
  const child: ChildProcess = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', ...persistence], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await accepts(port)); i++) await sleep(50);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
