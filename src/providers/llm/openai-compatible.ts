/**
 * `openai:<base URL>` — any server speaking the OpenAI chat-completions protocol (vLLM, Ollama,
 * llama.cpp's llama-server, OpenAI itself).
 *
 * Choices (documented for users):
 * - URL: requests go to `<base>/chat/completions`. A base URL with no path (`http://host:8080`) gets
 *   `/v1` added, the path every one of those servers serves; a base with a path (`.../v1`,
 *   `.../api/openai/v1`) is used as given; a URL that already ends in `/chat/completions` is used as is.
 * - Prompt: the raw PMG prompt (with its `### Human:` / `### Assistant:` turns) is sent as ONE user
 *   message, byte-identical to what the local provider continues. Chat servers do not agree on how to
 *   continue a half-written assistant turn, so the prompt is not split into turns; the keyword parser
 *   accepts a repeated "The keywords are:" preamble.
 * - Decoding: temperature 0 (greedy where the server allows it), `max_tokens` = maxNewTokens (default 100),
 *   `stop` = the caller's stop strings with the bare turn marker `###` sent as `### Human:` (at most 4, the
 *   API's limit; see serverStopStrings). Every stop string, `###` included, is also applied to the answer
 *   here (some servers ignore stops), skipping an echoed `### Assistant:` at the start (cutAtStop).
 * - JSON schema: `response_format: { type: 'json_schema', json_schema: { name, schema, strict: true } }`.
 * - Failures: each attempt has a timeout (AbortSignal.timeout). Connection refused/reset, 429 and 5xx are
 *   retried up to `retries` times with exponential backoff (429 honours Retry-After); other statuses
 *   (400, 401, 404...) and timeouts are not (a hung server would cost `retries` more full timeouts).
 */
import { PmgError } from '../../errors/pmg-error.js';
import type { GenerateTextOptions, GenerateTextResult, LanguageModel } from '../../spec/language-model.js';
import { cutAtStop, effectiveStopStrings, serverStopStrings } from './stop-strings.js';

export interface OpenAiCompatibleOptions {
  /** e.g. `http://127.0.0.1:8080/v1` (see the module comment for how it is completed). */
  baseUrl: string;
  /** The server's model name (`--llm-model`). */
  model: string;
  /** Sent as `Authorization: Bearer <key>`; the CLI reads PMG_LLM_API_KEY. */
  apiKey?: string;
  /** Per-attempt timeout in ms; default 120 000. */
  timeoutMs?: number;
  /** Extra attempts on retryable failures; default 2. */
  retries?: number;
  /** First backoff in ms (doubles each retry); default 500. */
  backoffMs?: number;
  /** Longest single wait (backoff or Retry-After) in ms; default 30 000. A longer Retry-After fails at once. */
  maxWaitMs?: number;
  /** Whether the server honours json_schema response formats; default true. */
  supportsJsonSchema?: boolean;
  /** Injected fetch (tests, proxies); default the global fetch. */
  fetch?: typeof fetch;
}

export const defaultMaxNewTokens = 100;
const maxStopStringsSent = 4;

interface ChatCompletionBody {
  choices?: Array<{ message?: { content?: unknown }; finish_reason?: unknown }>;
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
}

/** `<base>/chat/completions` per the rule in the module comment. Throws on a URL that is not http(s). */
export function chatCompletionsUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new PmgError('invalid-argument', `the LLM base URL '${baseUrl}' is not a URL; use e.g. openai:http://127.0.0.1:8080/v1`, {
      details: { url: baseUrl },
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PmgError('invalid-argument', `the LLM base URL '${baseUrl}' must start with http:// or https://`, { details: { url: baseUrl } });
  }
  let path = url.pathname.replace(/\/+$/, '');
  if (/\/chat\/completions$/.test(path)) return `${url.origin}${path}${url.search}`;
  if (path === '') path = '/v1';
  return `${url.origin}${path}/chat/completions${url.search}`;
}

export class OpenAiCompatibleLanguageModel implements LanguageModel {
  readonly id: string;
  readonly supportsJsonSchema: boolean;
  readonly url: string;
  private readonly options: Required<Omit<OpenAiCompatibleOptions, 'apiKey' | 'fetch' | 'supportsJsonSchema'>> & Pick<OpenAiCompatibleOptions, 'apiKey'>;
  private readonly fetchImpl: typeof fetch;

  constructor(options: OpenAiCompatibleOptions) {
    if (!options.model) {
      throw new PmgError(
        'invalid-argument',
        `llmModel is missing: the openai: LLM provider needs the name of a model the server at ${options.baseUrl} serves`,
        { details: { field: 'llmModel' } },
      );
    }
    this.url = chatCompletionsUrl(options.baseUrl);
    this.options = {
      baseUrl: options.baseUrl,
      model: options.model,
      apiKey: options.apiKey,
      timeoutMs: positive(options.timeoutMs, 120_000, 'timeoutMs'),
      retries: nonNegativeInt(options.retries, 2, 'retries'),
      backoffMs: nonNegative(options.backoffMs, 500, 'backoffMs'),
      maxWaitMs: nonNegative(options.maxWaitMs, 30_000, 'maxWaitMs'),
    };
    this.supportsJsonSchema = options.supportsJsonSchema ?? true;
    this.fetchImpl = options.fetch ?? fetch;
    this.id = `openai:${options.baseUrl}#${options.model}`;
  }

  async generate(prompt: string, options: GenerateTextOptions = {}): Promise<GenerateTextResult> {
    const jsonMode = options.jsonSchema !== undefined;
    if (jsonMode && !this.supportsJsonSchema) {
      throw new PmgError(
        'unsupported',
        `the LLM at ${this.url} is configured without JSON-schema support; drop the structured option or use a server that has it`,
      );
    }
    const stops = effectiveStopStrings(options.stop, jsonMode);
    const body: Record<string, unknown> = {
      model: this.options.model,
      messages: [{ role: 'user', content: prompt }],
      temperature: 0,
      max_tokens: options.maxNewTokens ?? defaultMaxNewTokens,
    };
    const sent = serverStopStrings(stops);
    if (sent.length) body.stop = sent.slice(0, maxStopStringsSent);
    if (jsonMode) body.response_format = { type: 'json_schema', json_schema: { name: 'pmg_output', schema: options.jsonSchema, strict: true } };

    const answer = await this.postWithRetries(JSON.stringify(body), options.signal);
    return this.parseAnswer(answer, stops);
  }

  private async postWithRetries(body: string, signal: AbortSignal | undefined): Promise<ChatCompletionBody> {
    const attempts = this.options.retries + 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.postOnce(body, signal, attempt);
      } catch (error) {
        if (!(error instanceof PmgError) || !error.isRetryable || attempt >= attempts || error.code !== 'provider-call-failed') {
          throw withAttempts(error, attempt);
        }
        const retryAfterMs = error.details.retryAfterMs as number | undefined;
        const wait = retryAfterMs ?? Math.min(this.options.backoffMs * 2 ** (attempt - 1), this.options.maxWaitMs);
        if (wait > this.options.maxWaitMs) throw withAttempts(error, attempt);
        await sleep(wait, signal, this.url);
      }
    }
  }

  private async postOnce(body: string, signal: AbortSignal | undefined, attempt: number): Promise<ChatCompletionBody> {
    if (signal?.aborted) throw abortedError(this.url);
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(this.url, { method: 'POST', headers, body, signal: combined });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw abortedError(this.url, error);
      if (timeout.aborted) {
        throw new PmgError(
          'timeout',
          `POST ${this.url} got no answer within ${this.options.timeoutMs} ms; check the server or raise the timeout (PMG_LLM_TIMEOUT, in seconds)`,
          {
            cause: error,
            details: { url: this.url, timeoutMs: this.options.timeoutMs, attempt },
          },
        );
      }
      const code = networkErrorCode(error);
      throw new PmgError('provider-call-failed', `cannot reach ${this.url} (${code ?? describe(error)}); is the LLM server running?`, {
        cause: error,
        details: { url: this.url, status: undefined, networkError: code },
        isRetryable: code !== undefined && retryableNetworkCodes.has(code),
      });
    }
    if (!response.ok) {
      const retryable = response.status === 429 || response.status >= 500;
      const retryAfterMs = response.status === 429 ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
      throw new PmgError('provider-call-failed', `POST ${this.url} failed with HTTP ${response.status}${serverMessage(text)}`, {
        details: { url: this.url, status: response.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
        isRetryable: retryable,
      });
    }
    try {
      return JSON.parse(text) as ChatCompletionBody;
    } catch (error) {
      throw new PmgError(
        'invalid-response',
        `POST ${this.url} answered HTTP ${response.status} with a body that is not JSON (${JSON.stringify(text.slice(0, 80))})`,
        {
          cause: error,
          details: { url: this.url, status: response.status, body: text.slice(0, 500) },
        },
      );
    }
  }

  private parseAnswer(answer: ChatCompletionBody, stops: string[]): GenerateTextResult {
    const choices = answer?.choices;
    if (!Array.isArray(choices) || choices.length === 0) {
      throw new PmgError('invalid-response', `the LLM at ${this.url} answered with no choices; check that the model '${this.options.model}' is served there`, {
        details: { url: this.url, status: 200 },
      });
    }
    const choice = choices[0]!;
    const content = choice.message?.content;
    if (typeof content !== 'string') {
      throw new PmgError('invalid-response', `the LLM at ${this.url} answered without message content in its first choice`, {
        details: { url: this.url, status: 200 },
      });
    }
    const cut = cutAtStop(content, stops);
    const reason = choice.finish_reason;
    const finishReason = cut.stopped || reason === 'stop' ? 'stop' : reason === 'length' ? 'length' : 'other';
    const usage = answer.usage;
    return {
      text: cut.text,
      finishReason,
      usage: usage
        ? {
            promptTokens: typeof usage.prompt_tokens === 'number' ? usage.prompt_tokens : undefined,
            completionTokens: typeof usage.completion_tokens === 'number' ? usage.completion_tokens : undefined,
          }
        : undefined,
    };
  }
}

const retryableNetworkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const nested = (current as { errors?: unknown[] }).errors; // AggregateError (IPv4 + IPv6 attempts)
    if (Array.isArray(nested) && nested.length) {
      const inner = networkErrorCode(nested[0]);
      if (inner) return inner;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function serverMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const message = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? parsed.message);
    if (typeof message === 'string' && message) return `: ${message.split('\n')[0]!.slice(0, 200)}`;
  } catch {
    // not JSON: fall through
  }
  const first = text.trim().split('\n')[0] ?? '';
  return first ? `: ${first.slice(0, 200)}` : '';
}

function withAttempts(error: unknown, attempts: number): unknown {
  if (!(error instanceof PmgError) || attempts <= 1 || error.code !== 'provider-call-failed') return error;
  return new PmgError(error.code, `${error.message} (after ${attempts} attempts)`, {
    cause: error.cause,
    details: { ...error.details, attempts },
    isRetryable: error.isRetryable,
  });
}

function abortedError(url: string, cause?: unknown): PmgError {
  return new PmgError('aborted', `the call to ${url} was aborted`, { cause, details: { url } });
}

function sleep(ms: number, signal: AbortSignal | undefined, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(url));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(url));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The innermost cause's message (fetch wraps the real reason, e.g. 'bad port', in `cause`). */
function describe(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message.split('\n')[0]!.slice(0, 200) : String(current);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new PmgError('invalid-argument', `${name} must be a positive number of milliseconds, got ${value}`);
  return value;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new PmgError('invalid-argument', `${name} must be zero or more, got ${value}`);
  return value;
}

function nonNegativeInt(value: number | undefined, fallback: number, name: string): number {
  const v = nonNegative(value, fallback, name);
  if (!Number.isInteger(v)) throw new PmgError('invalid-argument', `${name} must be a whole number, got ${v}`);
  return v;
}
