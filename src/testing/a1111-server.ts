/**
 * A real HTTP server on 127.0.0.1 (port 0) that speaks the part of AUTOMATIC1111's API pmg's a1111 generator uses:
 * `GET /sdapi/v1/options` (`sd_model_checkpoint`), `POST /sdapi/v1/txt2img` (`{ images: [base64 PNG], parameters,
 * info: "<JSON text>" }`, image k of a batch seeded `seed + k`, FastAPI's 422 `{ detail: [{ loc, msg, type }] }` for
 * a bad body), `GET /sdapi/v1/progress` (`{ progress, eta_relative, state: { sampling_step, sampling_steps, … },
 * current_image, textinfo }`; `sampling_step` is the 0-based index of the step just done, as A1111's sampler callback sets it) and `POST /sdapi/v1/interrupt`. It denoises nothing: each step waits `stepMs`, the
 * images are fake-remote-image.ts's deterministic PNGs. `failures` scripts the txt2img answers (500 once, 422 with a
 * detail, a hang, a dropped connection, an answer cut off halfway).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fakeImagePng, nextFailure, readJsonBody, type FakeFailure } from './fake-remote-image.js';

export interface FakeA1111Options {
  stepMs?: number;
  checkpoint?: string;
  failures?: FakeFailure[];
  /** Samplers it knows (default: A1111's usual names). */
  samplers?: readonly string[];
}

export interface FakeA1111Server {
  baseUrl: string;
  /** The txt2img bodies it received. */
  requests: Record<string, unknown>[];
  /** Paths of every request, in order. */
  paths: string[];
  failures: FakeFailure[];
  interrupts: number;
  /** txt2img calls answered with images. */
  completed: number;
  close(): Promise<void>;
}

const defaultSamplers = ['Euler', 'Euler a', 'DDIM', 'PLMS', 'DPM++ 2M', 'LCM', 'Heun', 'LMS', 'DPM2', 'UniPC'];

export async function startA1111Server(options: FakeA1111Options = {}): Promise<FakeA1111Server> {
  const stepMs = options.stepMs ?? 5;
  const samplers = options.samplers ?? defaultSamplers;
  const state = { sampling_step: 0, sampling_steps: 0, job_count: 0, interrupted: false };
  const fake: FakeA1111Server = {
    baseUrl: '',
    requests: [],
    paths: [],
    failures: options.failures ?? [],
    interrupts: 0,
    completed: 0,
    close: async () => undefined,
  };
  const send = (response: ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    fake.paths.push(`${request.method} ${path}`);
    void (async () => {
      if (request.method === 'GET' && path === '/sdapi/v1/options')
        return send(response, 200, { sd_model_checkpoint: options.checkpoint ?? 'fake-sd15.safetensors [0123456789]', samples_save: true });
      if (request.method === 'GET' && path.startsWith('/sdapi/v1/progress')) {
        const progress = state.sampling_steps ? state.sampling_step / state.sampling_steps : 0;
        return send(response, 200, {
          progress,
          eta_relative: 0,
          state: { skipped: false, job: state.job_count ? 'txt2img' : '', job_timestamp: '0', job_no: 0, ...state },
          current_image: null,
          textinfo: null,
        });
      }
      if (request.method === 'POST' && path === '/sdapi/v1/interrupt') {
        await readJsonBody(request);
        fake.interrupts += 1;
        state.interrupted = true;
        return send(response, 200, {});
      }
      if (request.method === 'POST' && path === '/sdapi/v1/txt2img') return txt2img(request, response);
      send(response, 404, { detail: 'Not Found' });
    })().catch((error: unknown) => send(response, 500, { error: 'Exception', detail: '', body: '', errors: String(error) }));
  });

  async function txt2img(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = ((await readJsonBody(request)) ?? {}) as Record<string, unknown>;
    fake.requests.push(body);
    const failure = nextFailure(fake.failures);
    if (failure.kind === 'hang') return;
    if (failure.kind === 'drop') return void request.socket.destroy();
    if (failure.kind === 'truncate') {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      response.write('{"images": ["iVBOR');
      return void setTimeout(() => request.socket.destroy(), 10);
    }
    if (failure.kind === 'status') {
      const payload =
        failure.status === 422
          ? { detail: [{ loc: ['body', 'steps'], msg: failure.detail, type: 'value_error' }] }
          : { error: 'RuntimeError', detail: '', body: '', errors: failure.detail };
      return send(response, failure.status, payload);
    }
    const steps = body.steps ?? 50;
    const width = body.width ?? 512;
    const height = body.height ?? 512;
    const sampler = body.sampler_name ?? 'Euler';
    if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 1)
      return send(response, 422, { detail: [{ loc: ['body', 'steps'], msg: 'value is not a valid integer', type: 'type_error.integer' }] });
    if (typeof sampler !== 'string' || !samplers.includes(sampler)) return send(response, 404, { detail: `Sampler not found` });
    if (typeof width !== 'number' || typeof height !== 'number' || width % 8 !== 0 || height % 8 !== 0)
      return send(response, 422, { detail: [{ loc: ['body', 'width'], msg: 'width and height must be multiples of 8', type: 'value_error' }] });
    const seed = typeof body.seed === 'number' && body.seed >= 0 ? body.seed : 1234;
    const count = Number(body.batch_size ?? 1) * Number(body.n_iter ?? 1);
    const prompt = String(body.prompt ?? '');
    state.job_count = 1;
    state.interrupted = false;
    state.sampling_steps = steps;
    for (let step = 0; step < steps && !state.interrupted; step++) {
      await sleep(stepMs);
      // As A1111's sampler callback: the index of the step just done.
      state.sampling_step = step;
    }
    const seeds = Array.from({ length: count }, (_, k) => seed + k);
    const images = await Promise.all(
      seeds.map(async (s) => (await fakeImagePng(s, `${prompt}\n${String(body.negative_prompt ?? '')}`, width, height)).toString('base64')),
    );
    state.job_count = 0;
    state.sampling_step = 0;
    state.sampling_steps = 0;
    if (response.destroyed) return;
    fake.completed += 1;
    send(response, 200, {
      images,
      parameters: body,
      info: JSON.stringify({ prompt, all_prompts: seeds.map(() => prompt), seed, all_seeds: seeds, sampler_name: sampler, steps, width, height }),
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
