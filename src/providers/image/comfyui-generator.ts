/**
 * The `comfyui:http://host:port[#ckpt=<checkpoint file>]` image generator: a ComfyUI server. Each candidate is one
 * API-format workflow — CheckpointLoaderSimple → CLIPTextEncode ×2 (prompt, negative) → EmptyLatentImage (batch 1)
 * → KSampler (the candidate's seed, scheduler `normal`, denoise 1) → VAEDecode → SaveImage — sent with
 * `POST /prompt { prompt, client_id }`. Progress comes over the websocket `/ws?clientId=<id>` (`progress {value, max}`
 * of the KSampler node; `executing {node: null}` or `execution_success` ends it, `execution_error` fails it with
 * the server's exception text); without a websocket (refused, or dropped mid-run) `GET /history/<prompt_id>` is
 * polled instead. The image is fetched with `GET /view?filename=&subfolder=&type=`. An abort sends `POST /interrupt`.
 *
 * Checkpoint: `#ckpt=` in the spec, else the first one the server lists (`GET /object_info/CheckpointLoaderSimple`);
 * the generator's id records it. Prompt text: ComfyUI reads `(text:w)` and `( )` as weighting syntax, so plain text
 * escapes the parentheses and weighted spans become `(text:w)`. Samplers: euler → euler, euler-ancestral →
 * euler_ancestral, ddim → ddim, dpm-solver++ → dpmpp_2m, lcm → lcm; pndm and ddpm have no clear match and are refused.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { PmgError } from '../../errors/pmg-error.js';
import type { SchedulerName } from '../../spec/scheduler.js';
import { abortedError, oneLine, RemoteServer } from './remote-http.js';
import { RemoteImageGenerator, type RemoteGeneratorOptions, type RemoteRenderJob } from './remote-generator.js';
import { remoteBaseUrl } from './remote-spec.js';

/** pmg scheduler → ComfyUI KSampler sampler_name. */
export const comfyuiSamplerOf: Readonly<Partial<Record<SchedulerName, string>>> = {
  euler: 'euler',
  'euler-ancestral': 'euler_ancestral',
  ddim: 'ddim',
  'dpm-solver++': 'dpmpp_2m',
  lcm: 'lcm',
};

/** The node ids of pmg's workflow. */
export const COMFY_NODES = { checkpoint: '4', positive: '6', negative: '7', latent: '5', sampler: '3', decode: '8', save: '9' } as const;

export interface ComfyImageRef {
  filename: string;
  subfolder?: string;
  type?: string;
}

interface HistoryEntry {
  outputs?: Record<string, { images?: ComfyImageRef[] }>;
  status?: { status_str?: string; completed?: boolean; messages?: [string, Record<string, unknown>][] };
}

/** The API-format workflow of one candidate. */
export function comfyWorkflow(input: {
  checkpoint: string;
  prompt: string;
  negative: string;
  seed: number;
  steps: number;
  guidance: number;
  width: number;
  height: number;
  sampler: string;
}): Record<string, { class_type: string; inputs: Record<string, unknown> }> {
  const n = COMFY_NODES;
  return {
    [n.checkpoint]: { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: input.checkpoint } },
    [n.positive]: { class_type: 'CLIPTextEncode', inputs: { text: input.prompt, clip: [n.checkpoint, 1] } },
    [n.negative]: { class_type: 'CLIPTextEncode', inputs: { text: input.negative, clip: [n.checkpoint, 1] } },
    [n.latent]: { class_type: 'EmptyLatentImage', inputs: { width: input.width, height: input.height, batch_size: 1 } },
    [n.sampler]: {
      class_type: 'KSampler',
      inputs: {
        seed: input.seed,
        steps: input.steps,
        cfg: input.guidance,
        sampler_name: input.sampler,
        scheduler: 'normal',
        denoise: 1,
        model: [n.checkpoint, 0],
        positive: [n.positive, 0],
        negative: [n.negative, 0],
        latent_image: [n.latent, 0],
      },
    },
    [n.decode]: { class_type: 'VAEDecode', inputs: { samples: [n.sampler, 0], vae: [n.checkpoint, 2] } },
    [n.save]: { class_type: 'SaveImage', inputs: { filename_prefix: 'pmg', images: [n.decode, 0] } },
  };
}

/** The registry's `comfyui:` factory: the checkpoint from the spec, else the server's first. */
export async function createComfyuiGenerator(spec: string, options: RemoteGeneratorOptions = {}): Promise<ComfyuiGenerator> {
  const { baseUrl, params } = remoteBaseUrl(spec, 'comfyui', ['ckpt']);
  const server = new RemoteServer('comfyui', baseUrl, options);
  const info = await server.json<Record<string, { input?: { required?: { ckpt_name?: unknown } } }>>('/object_info/CheckpointLoaderSimple');
  const listed = checkpointNames(info.CheckpointLoaderSimple?.input?.required?.ckpt_name);
  const checkpoint = params.ckpt || listed[0];
  if (!checkpoint)
    throw new PmgError(
      'invalid-argument',
      `generator: the ${server.label} lists no checkpoint; put one in its models/checkpoints folder or name it with #ckpt=`,
      {
        details: { field: 'generator' },
      },
    );
  if (params.ckpt && listed.length > 0 && !listed.includes(params.ckpt))
    throw new PmgError(
      'invalid-argument',
      `generator: the ${server.label} has no checkpoint '${params.ckpt}'; use one of ${listed.slice(0, 10).join(', ')}${listed.length > 10 ? ' …' : ''}`,
      { details: { field: 'generator' } },
    );
  return new ComfyuiGenerator(server, checkpoint, options.pollMs ?? 500);
}

/** `ckpt_name`'s choices: `[[names…], {…}]` (classic) or `['COMBO', { options: [names…] }]` (newer servers). */
function checkpointNames(spec: unknown): string[] {
  if (!Array.isArray(spec)) return [];
  const [first, second] = spec as [unknown, unknown];
  const names = Array.isArray(first) ? first : ((second as { options?: unknown } | undefined)?.options ?? []);
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
}

export class ComfyuiGenerator extends RemoteImageGenerator {
  private readonly clientId = randomUUID();

  constructor(
    server: RemoteServer,
    readonly checkpoint: string,
    private readonly pollMs: number,
  ) {
    super(`comfyui:${server.baseUrl}#ckpt=${checkpoint}`, server, comfyuiSamplerOf, /[()]/g);
  }

  protected async render(job: RemoteRenderJob): Promise<Buffer> {
    const { settings, signal } = job;
    const workflow = comfyWorkflow({
      checkpoint: this.checkpoint,
      prompt: job.prompt,
      negative: job.negative,
      seed: job.seed,
      steps: settings.steps,
      guidance: settings.guidance,
      width: settings.width,
      height: settings.height,
      sampler: job.sampler,
    });
    const socket = await this.openSocket(signal);
    try {
      const queued = await this.server.json<{ prompt_id?: unknown }>('/prompt', { json: { prompt: workflow, client_id: this.clientId }, signal });
      if (typeof queued.prompt_id !== 'string')
        throw new PmgError('invalid-response', `${this.label}: /prompt answered without a prompt_id; check the server log`);
      const id = queued.prompt_id;
      const deadline = Date.now() + this.server.timeoutMs;
      const followed = socket ? await this.follow(socket, id, job, deadline) : false;
      const entry = await this.waitForHistory(id, signal, deadline, followed);
      const image = entry.outputs?.[COMFY_NODES.save]?.images?.[0];
      if (!image?.filename)
        throw new PmgError('invalid-response', `${this.label}: prompt ${id} finished without an image from SaveImage; check the server log`);
      const query = new URLSearchParams({ filename: image.filename, subfolder: image.subfolder ?? '', type: image.type ?? 'output' });
      return await this.server.call(`/view?${query}`, { signal });
    } finally {
      socket?.close();
    }
  }

  /** The websocket, open; undefined when the server refuses it (then /history is polled). */
  private openSocket(signal: AbortSignal): Promise<MessageQueue | undefined> {
    const url = `${this.server.baseUrl.replace(/^http/, 'ws')}/ws?clientId=${this.clientId}`;
    return new Promise((resolve) => {
      const socket = new WebSocket(url, { handshakeTimeout: this.server.connectMs });
      const queue = new MessageQueue(socket);
      const give = (value: MessageQueue | undefined): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onAbort = (): void => {
        socket.terminate();
        give(undefined);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('open', () => give(queue));
      socket.once('error', () => give(undefined));
    });
  }

  /** Follow the prompt over the websocket: true when it ended there, false when the socket closed first (poll /history then). */
  private async follow(queue: MessageQueue, id: string, job: RemoteRenderJob, deadline: number): Promise<boolean> {
    for (;;) {
      const message = await queue.next(job.signal, deadline - Date.now());
      if (message === 'closed') return false;
      if (message === 'timeout') throw this.timeout(id);
      if (message === 'aborted') throw abortedError(this.label);
      const data = message.data ?? {};
      if (data.prompt_id !== undefined && data.prompt_id !== id) continue;
      if (message.type === 'progress' && (data.node === undefined || data.node === COMFY_NODES.sampler) && typeof data.value === 'number')
        await job.onProgress(data.value);
      else if (message.type === 'execution_error') throw this.executionError(id, data);
      else if (message.type === 'execution_interrupted') throw new PmgError('aborted', `${this.label}: prompt ${id} was interrupted on the server`);
      else if (message.type === 'execution_success' || (message.type === 'executing' && data.node === null && data.prompt_id === id)) return true;
    }
  }

  /** The prompt's history entry once it is there (polled: right after a followed prompt it may lag a moment). */
  private async waitForHistory(id: string, signal: AbortSignal, deadline: number, followed: boolean): Promise<HistoryEntry> {
    for (;;) {
      const history = await this.server.json<Record<string, HistoryEntry>>(`/history/${encodeURIComponent(id)}`, { signal });
      const entry = history[id];
      if (entry?.status?.status_str === 'error') {
        const error = entry.status.messages?.find(([kind]) => kind === 'execution_error')?.[1] ?? {};
        throw this.executionError(id, error);
      }
      if (entry && (entry.status?.completed || entry.outputs?.[COMFY_NODES.save])) return entry;
      if (Date.now() > deadline) throw this.timeout(id);
      try {
        await sleep(followed ? Math.min(this.pollMs, 50) : this.pollMs, undefined, { signal });
      } catch {
        throw abortedError(this.label);
      }
    }
  }

  private executionError(id: string, data: Record<string, unknown>): PmgError {
    const where = data.node_type ? `${String(data.node_type)} (node ${String(data.node_id)})` : 'a node';
    const what = [data.exception_type, data.exception_message].filter((v) => typeof v === 'string' && v).join(': ');
    return new PmgError(
      'provider-call-failed',
      `${this.label}: prompt ${id} failed in ${where}: ${oneLine(what || 'no message', 300)}; check the workflow's inputs and the server log`,
      {
        details: { promptId: id, ...(data.node_id !== undefined ? { node: data.node_id } : {}) },
      },
    );
  }

  private timeout(id: string): PmgError {
    return new PmgError('timeout', `${this.label}: prompt ${id} did not finish within ${this.server.timeoutMs} ms; check the server or raise the timeout`);
  }

  protected async interrupt(): Promise<void> {
    await this.server.call('/interrupt', { json: {}, retries: 0 });
  }
}

interface ComfyMessage {
  type: string;
  data?: Record<string, unknown>;
}

/** The socket's JSON messages in arrival order (binary preview frames skipped), read one at a time. */
class MessageQueue {
  private readonly messages: ComfyMessage[] = [];
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(private readonly socket: WebSocket) {
    socket.on('message', (raw, isBinary) => {
      if (isBinary) return;
      try {
        const parsed = JSON.parse(raw.toString()) as ComfyMessage;
        if (parsed && typeof parsed.type === 'string') this.messages.push(parsed);
      } catch {
        return;
      }
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  async next(signal: AbortSignal, waitMs: number): Promise<ComfyMessage | 'closed' | 'timeout' | 'aborted'> {
    for (;;) {
      const message = this.messages.shift();
      if (message) return message;
      if (this.closed) return 'closed';
      if (signal.aborted) return 'aborted';
      if (waitMs <= 0) return 'timeout';
      const outcome = await new Promise<'woken' | 'timeout' | 'aborted'>((resolve) => {
        const timer = setTimeout(() => done('timeout'), waitMs);
        const onAbort = (): void => done('aborted');
        const done = (value: 'woken' | 'timeout' | 'aborted'): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          this.wake = undefined;
          resolve(value);
        };
        this.wake = () => done('woken');
        signal.addEventListener('abort', onAbort, { once: true });
      });
      if (outcome !== 'woken' && this.messages.length === 0) return outcome;
    }
  }

  close(): void {
    this.socket.close();
  }
}
