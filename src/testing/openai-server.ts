/**
 * A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol
 * (`POST <base>/chat/completions`) with scripted behaviours, for testing remote LLM providers
 * without a network. Every request is recorded (path, headers, parsed body).
 *
 * Behaviours are consumed in order, one per request; the last one repeats. Example:
 *   const server = await startOpenAiServer({ script: [{ kind: 'status', status: 500 }, { kind: 'success', content: 'hi' }] });
 *   ... fetch(`${server.baseUrl}/chat/completions`) ...
 *   await server.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ServerBehaviour =
  /** 200 with one choice whose message content is `content`. */
  | { kind: 'success'; content: string; finishReason?: string; usage?: { prompt_tokens: number; completion_tokens: number } }
  /**
   * 200 answering a JSON-schema request: `answer` (serialised) as the content when the request carried
   * `response_format.type === 'json_schema'`; otherwise a 400 like a server that requires it would send.
   * Without `answer`, the request's schema itself is echoed back as the content.
   */
  | { kind: 'json-schema'; answer?: unknown }
  /** Any status with a JSON error body (OpenAI shape) and optional headers, e.g. 500, 400, 429 + Retry-After. */
  | { kind: 'status'; status: number; message?: string; headers?: Record<string, string> }
  /** Accept the request and never answer (until the server closes). */
  | { kind: 'hang' }
  /** Drop the connection without answering (the client sees a connection reset). */
  | { kind: 'reset' }
  /** 200 with a body that is not JSON. */
  | { kind: 'malformed' }
  /** 200 with `choices: []`. */
  | { kind: 'empty-choices' }
  /** 200 with one choice whose message has no content. */
  | { kind: 'no-content' }
  /** Compute the behaviour from the request (e.g. echo the prompt). */
  | { kind: 'custom'; respond: (request: RecordedRequest) => ServerBehaviour };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body (undefined when it was not JSON). */
  body: unknown;
  rawBody: string;
}

export interface OpenAiServerOptions {
  script?: ServerBehaviour[];
  /** The model name reported in answers. */
  model?: string;
}

export interface OpenAiTestServer {
  /** `http://127.0.0.1:<port>/v1` */
  readonly baseUrl: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Chat-completion requests only. */
  readonly completionRequests: RecordedRequest[];
  /** Replace the remaining script. */
  setScript(script: ServerBehaviour[]): void;
  close(): Promise<void>;
}

export async function startOpenAiServer(options: OpenAiServerOptions = {}): Promise<OpenAiTestServer> {
  let script = [...(options.script ?? [{ kind: 'success', content: 'ok' }])];
  const requests: RecordedRequest[] = [];
  const model = options.model ?? 'scripted-model';
  let counter = 0;

  const next = (): ServerBehaviour => (script.length > 1 ? script.shift()! : (script[0] ?? { kind: 'success', content: 'ok' }));

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    let body: unknown;
    try {
      body = rawBody ? JSON.parse(rawBody) : undefined;
    } catch {
      body = undefined;
    }
    const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers }, body, rawBody };
    requests.push(recorded);
    if (req.method === 'GET' && /\/models\/?$/.test(recorded.path)) {
      sendJson(res, 200, { object: 'list', data: [{ id: model, object: 'model' }] });
      return;
    }
    if (req.method !== 'POST' || !/\/chat\/completions\/?$/.test(recorded.path)) {
      sendJson(res, 404, { error: { message: `no route ${req.method} ${recorded.path}`, type: 'invalid_request_error' } });
      return;
    }
    respond(res, next(), recorded);
  }

  function respond(res: ServerResponse, behaviour: ServerBehaviour, request: RecordedRequest): void {
    const id = `chatcmpl-${++counter}`;
    switch (behaviour.kind) {
      case 'custom':
        respond(res, behaviour.respond(request), request);
        return;
      case 'success':
        sendJson(res, 200, completion(id, model, behaviour.content, behaviour.finishReason ?? 'stop', behaviour.usage));
        return;
      case 'json-schema': {
        const format = (request.body as { response_format?: { type?: string; json_schema?: { schema?: unknown } } } | undefined)?.response_format;
        if (format?.type !== 'json_schema') {
          sendJson(res, 400, { error: { message: 'this scripted server expects response_format.type json_schema', type: 'invalid_request_error' } });
          return;
        }
        const content = JSON.stringify(behaviour.answer !== undefined ? behaviour.answer : (format.json_schema?.schema ?? null));
        sendJson(res, 200, completion(id, model, content, 'stop'));
        return;
      }
      case 'status':
        res.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
        res.end(
          JSON.stringify({ error: { message: behaviour.message ?? `scripted status ${behaviour.status}`, type: 'scripted_error', code: behaviour.status } }),
        );
        return;
      case 'reset':
        res.socket?.destroy();
        return;
      case 'hang':
        return; // never answer; close() destroys the socket
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"id": "broken", "choices": [ {"message": ');
        return;
      case 'empty-choices':
        sendJson(res, 200, { id, object: 'chat.completion', created: 0, model, choices: [] });
        return;
      case 'no-content':
        sendJson(res, 200, {
          id,
          object: 'chat.completion',
          created: 0,
          model,
          choices: [{ index: 0, message: { role: 'assistant' }, finish_reason: 'stop' }],
        });
        return;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    get completionRequests() {
      return requests.filter((r) => r.method === 'POST' && /\/chat\/completions\/?$/.test(r.path));
    },
    setScript(newScript) {
      script = [...newScript];
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function completion(id: string, model: string, content: string, finishReason: string, usage?: { prompt_tokens: number; completion_tokens: number }): unknown {
  const used = usage ?? { prompt_tokens: 10, completion_tokens: Math.max(1, content.split(/\s+/).filter(Boolean).length) };
  return {
    id,
    object: 'chat.completion',
    created: 0,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finishReason }],
    usage: { ...used, total_tokens: used.prompt_tokens + used.completion_tokens },
  };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
