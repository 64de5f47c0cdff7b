/**
 * Listening: the Hono app on a host and port through @hono/node-server, with the URL it answers on and a close that
 * ends open streams (SSE clients) so a shutdown does not wait for them.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import type { Hono } from 'hono';
import { PmgError } from '../errors/pmg-error.js';

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on `host:port` (port 0: any free port). A port in use is a PmgError naming --port. */
export async function listen(app: Hono, host: string, port: number): Promise<RunningServer> {
  let server: ServerType | undefined;
  const info = await new Promise<AddressInfo>((resolve, reject) => {
    server = serve({ fetch: app.fetch, hostname: host, port }, resolve);
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, host, port)));
  });
  const http = server as Server;
  const shown = info.family === 'IPv6' ? `[${info.address}]` : info.address;
  return {
    url: `http://${shown}:${info.port}`,
    port: info.port,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

/** Whether `host:port` can be listened on now: a port in use fails before models load or files are written. */
export async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, host, port)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  if (error.code === 'EADDRINUSE') return new PmgError('invalid-argument', `port ${port} on ${host} is in use; pick another with --port`);
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND')
    return new PmgError('invalid-argument', `cannot listen on --host ${host}: it is not an address of this machine`);
  return error;
}

/** On 127.0.0.1, any free port: how tests and benches put an app on a real socket. */
export function listenLoopback(app: Hono): Promise<RunningServer> {
  return listen(app, '127.0.0.1', 0);
}
