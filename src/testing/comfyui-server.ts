/**
 * A real HTTP + websocket server on 127.0.0.1 (port 0) that speaks the part of ComfyUI's protocol pmg's comfyui
 * generator uses: `GET /object_info/CheckpointLoaderSimple` (`ckpt_name: [[names…], {}]`), `POST /prompt
 * { prompt, client_id }` → `{ prompt_id, number, node_errors }` (400 `{ error: { type, message, details,
 * extra_info }, node_errors }` for an unknown checkpoint or sampler), `GET /history/<id>` (`{ <id>: { prompt,
 * outputs: { <node>: { images: [{ filename, subfolder, type }] } }, status: { status_str, completed, messages } } }`,
 * `{}` while queued), `GET /view?filename=&subfolder=&type=`, `POST /interrupt`, and the websocket
 * `/ws?clientId=` with `status`, `execution_start`, `execution_cached`, `executing {node}`, `progress {value, max,
 * prompt_id, node}`, `executed`, `execution_success`, `execution_error` and `execution_interrupted` — sent only to
 * the prompt's client, as ComfyUI does. Prompts run one at a time, each step waiting `stepMs`; images are
 * fake-remote-image.ts's deterministic PNGs. `failures` scripts the /prompt answers; `executionError` makes the
 * next prompts fail in KSampler; `noSocket` refuses the websocket, `dropSocket` closes it after the first progress.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import { fakeImagePng, nextFailure, readJsonBody, type FakeFailure } from './fake-remote-image.js';

export interface FakeComfyuiOptions {
  stepMs?: number;
  checkpoints?: string[];
  failures?: FakeFailure[];
  /** The next N prompts fail in KSampler with this exception message. */
  executionError?: { message: string; count: number };
  noSocket?: boolean;
  dropSocket?: boolean;
}

export interface FakeComfyuiServer {
  baseUrl: string;
  /** The /prompt bodies it received. */
  prompts: { prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }>; client_id?: string }[];
  paths: string[];
  /** The scripted /prompt answers still to come (a test may refill it). */
  failures: FakeFailure[];
  interrupts: number;
  /** Websocket connections accepted. */
  sockets: number;
  /** Prompts run to the end. */
  completed: number;
  close(): Promise<void>;
}

const samplers = ['euler', 'euler_ancestral', 'heun', 'dpm_2', 'lms', 'dpmpp_2m', 'ddim', 'uni_pc', 'lcm', 'ddpm'];

export async function startComfyuiServer(options: FakeComfyuiOptions = {}): Promise<FakeComfyuiServer> {
  const stepMs = options.stepMs ?? 5;
  const checkpoints = options.checkpoints ?? ['fake-sd15.safetensors', 'other.ckpt'];
  const failures = options.failures ?? [];
  const clients = new Map<string, WebSocket>();
  const history = new Map<string, Record<string, unknown>>();
  const files = new Map<string, Buffer>();
  let queue: Promise<void> = Promise.resolve();
  let number = 0;
  let interrupted = false;
  let executionErrors = options.executionError?.count ?? 0;
  const fake: FakeComfyuiServer = { baseUrl: '', prompts: [], paths: [], failures, interrupts: 0, sockets: 0, completed: 0, close: async () => undefined };
  const send = (response: ServerResponse, status: number, body: unknown, type = 'application/json'): void => {
    response.writeHead(status, { 'content-type': type }).end(Buffer.isBuffer(body) ? body : JSON.stringify(body));
  };
  const emit = (clientId: string | undefined, type: string, data: Record<string, unknown>): void => {
    const socket = clientId ? clients.get(clientId) : undefined;
    if (socket && socket.readyState === socket.OPEN) socket.send(JSON.stringify({ type, data }));
  };

  async function execute(id: string, body: FakeComfyuiServer['prompts'][number]): Promise<void> {
    const graph = body.prompt;
    const client = body.client_id;
    const messages: [string, Record<string, unknown>][] = [];
    const note = (type: string, data: Record<string, unknown>): void => {
      messages.push([type, data]);
      emit(client, type, data);
    };
    interrupted = false;
    note('execution_start', { prompt_id: id, timestamp: Date.now() });
    note('execution_cached', { nodes: [], prompt_id: id, timestamp: Date.now() });
    const sampler = Object.entries(graph).find(([, node]) => node.class_type === 'KSampler')!;
    const save = Object.entries(graph).find(([, node]) => node.class_type === 'SaveImage')!;
    const encoders = Object.entries(graph).filter(([, node]) => node.class_type === 'CLIPTextEncode');
    const latent = Object.values(graph).find((node) => node.class_type === 'EmptyLatentImage')!;
    const inputs = sampler[1].inputs;
    const steps = Number(inputs.steps);
    emit(client, 'executing', { node: sampler[0], display_node: sampler[0], prompt_id: id });
    for (let value = 1; value <= steps; value++) {
      await sleep(stepMs);
      if (interrupted) {
        note('execution_interrupted', { prompt_id: id, node_id: sampler[0], node_type: 'KSampler', executed: [] });
        history.set(id, { prompt: [number, id, graph, {}, [save[0]]], outputs: {}, status: { status_str: 'error', completed: false, messages } });
        return;
      }
      emit(client, 'progress', { value, max: steps, prompt_id: id, node: sampler[0] });
      if (options.dropSocket && client) clients.get(client)?.terminate();
      if (executionErrors > 0 && value === 1) {
        executionErrors -= 1;
        note('execution_error', {
          prompt_id: id,
          node_id: sampler[0],
          node_type: 'KSampler',
          executed: [],
          exception_message: options.executionError!.message,
          exception_type: 'torch.OutOfMemoryError',
          traceback: ['Traceback (most recent call last):', '  File "execution.py"'],
          current_inputs: {},
          current_outputs: {},
        });
        history.set(id, { prompt: [number, id, graph, {}, [save[0]]], outputs: {}, status: { status_str: 'error', completed: false, messages } });
        return;
      }
    }
    const text = (ref: unknown): string => String(encoders.find(([key]) => key === (ref as [string, number])[0])?.[1].inputs.text ?? '');
    const png = await fakeImagePng(
      Number(inputs.seed),
      `${text(inputs.positive)}\n${text(inputs.negative)}`,
      Number(latent.inputs.width),
      Number(latent.inputs.height),
    );
    const filename = `pmg_${String(files.size + 1).padStart(5, '0')}_.png`;
    files.set(`output//${filename}`, png);
    const images = [{ filename, subfolder: '', type: 'output' }];
    emit(client, 'executed', { node: save[0], display_node: save[0], output: { images }, prompt_id: id });
    history.set(id, {
      prompt: [number, id, graph, {}, [save[0]]],
      outputs: { [save[0]]: { images } },
      status: { status_str: 'success', completed: true, messages },
    });
    fake.completed += 1;
    note('execution_success', { prompt_id: id, timestamp: Date.now() });
    emit(client, 'executing', { node: null, prompt_id: id });
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    fake.paths.push(`${request.method} ${url.pathname}`);
    void (async () => {
      if (request.method === 'GET' && url.pathname === '/object_info/CheckpointLoaderSimple')
        return send(response, 200, { CheckpointLoaderSimple: { input: { required: { ckpt_name: [checkpoints, {}] } }, output: ['MODEL', 'CLIP', 'VAE'] } });
      if (request.method === 'POST' && url.pathname === '/prompt') {
        const body = (await readJsonBody(request)) as FakeComfyuiServer['prompts'][number];
        fake.prompts.push(body);
        const failure = nextFailure(failures);
        if (failure.kind === 'hang') return;
        if (failure.kind === 'drop') return void request.socket.destroy();
        if (failure.kind === 'truncate') {
          response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
          response.write('{"prompt_id": "');
          return void setTimeout(() => request.socket.destroy(), 10);
        }
        if (failure.kind === 'status')
          return send(response, failure.status, { error: { type: 'server_error', message: failure.detail, details: '', extra_info: {} }, node_errors: {} });
        const invalid = Object.entries(body.prompt ?? {}).find(
          ([, node]) =>
            (node.class_type === 'CheckpointLoaderSimple' && !checkpoints.includes(String(node.inputs.ckpt_name))) ||
            (node.class_type === 'KSampler' && !samplers.includes(String(node.inputs.sampler_name))),
        );
        if (invalid) {
          const field = invalid[1].class_type === 'KSampler' ? 'sampler_name' : 'ckpt_name';
          return send(response, 400, {
            error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} },
            node_errors: {
              [invalid[0]]: {
                errors: [
                  {
                    type: 'value_not_in_list',
                    message: 'Value not in list',
                    details: `${field}: '${String(invalid[1].inputs[field])}' not in list`,
                    extra_info: {},
                  },
                ],
                dependent_outputs: [],
                class_type: invalid[1].class_type,
              },
            },
          });
        }
        const id = randomUUID();
        number += 1;
        queue = queue.then(() => execute(id, body)).catch(() => undefined);
        return send(response, 200, { prompt_id: id, number, node_errors: {} });
      }
      if (request.method === 'GET' && url.pathname.startsWith('/history/')) {
        const id = decodeURIComponent(url.pathname.slice('/history/'.length));
        const entry = history.get(id);
        return send(response, 200, entry ? { [id]: entry } : {});
      }
      if (request.method === 'GET' && url.pathname === '/view') {
        const key = `${url.searchParams.get('type') ?? 'output'}/${url.searchParams.get('subfolder') ?? ''}/${url.searchParams.get('filename') ?? ''}`;
        const file = files.get(key);
        return file ? send(response, 200, file, 'image/png') : send(response, 404, '404: Not Found', 'text/plain');
      }
      if (request.method === 'POST' && url.pathname === '/interrupt') {
        await readJsonBody(request);
        fake.interrupts += 1;
        interrupted = true;
        return send(response, 200, {});
      }
      send(response, 404, '404: Not Found', 'text/plain');
    })().catch((error: unknown) => send(response, 500, { error: { type: 'exception', message: String(error), details: '' } }));
  });
  const sockets = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://x');
    if (options.noSocket || url.pathname !== '/ws') return void socket.destroy();
    sockets.handleUpgrade(request, socket, head, (ws) => {
      const clientId = url.searchParams.get('clientId') ?? randomUUID();
      clients.set(clientId, ws);
      fake.sockets += 1;
      ws.send(JSON.stringify({ type: 'status', data: { status: { exec_info: { queue_remaining: 0 } }, sid: clientId } }));
      ws.on('close', () => clients.get(clientId) === ws && clients.delete(clientId));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      for (const ws of sockets.clients) ws.terminate();
      sockets.close();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
