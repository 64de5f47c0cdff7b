import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PmgError } from '../../errors/pmg-error.js';
import { startOpenAiServer, type OpenAiTestServer } from '../../testing/openai-server.js';
import { parseKeywords } from '../../personalize/parse-keywords.js';
import { OpenAiCompatibleLanguageModel, chatCompletionsUrl, parseRetryAfter } from './openai-compatible.js';

const prompt = '### Human: Give 8 keywords.\n### Assistant: The keywords are:';

describe('openai-compatible provider against a scripted 127.0.0.1 server', () => {
  let server: OpenAiTestServer;
  const model = (extra: Partial<ConstructorParameters<typeof OpenAiCompatibleLanguageModel>[0]> = {}) =>
    new OpenAiCompatibleLanguageModel({ baseUrl: server.baseUrl, model: 'tiny', apiKey: 'sk-test', timeoutMs: 2000, retries: 2, backoffMs: 5, ...extra });

  before(async () => {
    server = await startOpenAiServer();
  });
  after(async () => {
    await server.close();
  });

  const fresh = (script: Parameters<OpenAiTestServer['setScript']>[0]) => {
    server.requests.length = 0;
    server.setScript(script);
  };

  it('success: sends the raw prompt, greedy settings and stops, returns text, finish reason and usage', async () => {
    fresh([{ kind: 'success', content: ' 1. vintage 2. noir', usage: { prompt_tokens: 12, completion_tokens: 7 } }]);
    const result = await model().generate(prompt, { maxNewTokens: 42, stop: ['\n\n'] });
    assert.equal(result.text, ' 1. vintage 2. noir');
    assert.equal(result.finishReason, 'stop');
    assert.deepEqual(result.usage, { promptTokens: 12, completionTokens: 7 });
    assert.equal(server.completionRequests.length, 1);
    const request = server.completionRequests[0]!;
    assert.equal(request.path, '/v1/chat/completions');
    assert.equal(request.headers.authorization, 'Bearer sk-test');
    const body = request.body as Record<string, unknown>;
    assert.equal(body.model, 'tiny');
    assert.deepEqual(body.messages, [{ role: 'user', content: prompt }]);
    assert.equal(body.temperature, 0);
    assert.equal(body.max_tokens, 42);
    assert.deepEqual(body.stop, ['### Human:', '\n\n'], 'the bare Vicuna marker ### is sent as the next user turn');
    assert.equal(body.response_format, undefined);
  });

  it('cuts the answer at a stop string the server did not apply, and maps length', async () => {
    fresh([{ kind: 'success', content: '1. a 2. b\n### Human: more', finishReason: 'length' }]);
    const cut = await model().generate(prompt);
    assert.equal(cut.text, '1. a 2. b\n');
    assert.equal(cut.finishReason, 'stop');
    fresh([{ kind: 'success', content: '1. a 2. b', finishReason: 'length' }]);
    assert.equal((await model().generate(prompt)).finishReason, 'length');
    assert.equal((server.completionRequests[0]!.body as { max_tokens: number }).max_tokens, 100);
  });

  it('an answer that opens by echoing "### Assistant:" keeps its keywords (the bare marker is not sent as a stop)', async () => {
    fresh([{ kind: 'success', content: '### Assistant: The keywords are: 1. Film Noir 2. Heist\n### Human: next' }]);
    const result = await model().generate(prompt, { stop: ['###'] });
    assert.equal(result.text, '### Assistant: The keywords are: 1. Film Noir 2. Heist\n');
    assert.deepEqual((server.completionRequests[0]!.body as { stop?: string[] }).stop, ['### Human:']);
    assert.deepEqual(parseKeywords(result.text, 8), ['film noir', 'heist']);
  });

  it('against a server that applies the stops it is sent (as vLLM and llama-server do): the echo case still parses, and the next turn is cut', async () => {
    // The model's raw continuation; the server cuts it at the first stop it was sent, even at position 0.
    const applyingStops = (raw: string) => ({
      kind: 'custom' as const,
      respond: (request: { body: unknown }) => {
        const stops = (request.body as { stop?: string[] }).stop ?? [];
        const at = Math.min(...stops.map((stop) => raw.indexOf(stop)).filter((i) => i >= 0), raw.length);
        return { kind: 'success' as const, content: raw.slice(0, at), finishReason: at < raw.length ? 'stop' : 'length' };
      },
    });
    fresh([applyingStops('### Assistant: The keywords are: 1. Film Noir 2. Heist 3. Rain\n### Human: and more? ### Assistant: 1. x')]);
    const echoed = await model().generate(prompt, { stop: ['###'] });
    assert.equal(echoed.text, '### Assistant: The keywords are: 1. Film Noir 2. Heist 3. Rain\n');
    assert.deepEqual(parseKeywords(echoed.text, 8), ['film noir', 'heist', 'rain']);
    fresh([applyingStops(' 1. vintage 2. noir\n### Human: thanks')]);
    const plain = await model().generate(prompt, { stop: ['###'] });
    assert.equal(plain.text, ' 1. vintage 2. noir\n');
    assert.equal(plain.finishReason, 'stop');
  });

  it('JSON-schema mode sends response_format and no default stop', async () => {
    const schema = { type: 'object', properties: { keywords: { type: 'array', items: { type: 'string' } } }, required: ['keywords'] };
    fresh([{ kind: 'json-schema', answer: { keywords: ['vintage', 'noir'] } }]);
    const result = await model().generate(prompt, { jsonSchema: schema });
    assert.deepEqual(JSON.parse(result.text), { keywords: ['vintage', 'noir'] });
    const body = server.completionRequests[0]!.body as Record<string, unknown>;
    assert.deepEqual(body.response_format, { type: 'json_schema', json_schema: { name: 'pmg_output', schema, strict: true } });
    assert.equal(body.stop, undefined);
  });

  it('500 then success: retried once and succeeds (2 requests)', async () => {
    fresh([
      { kind: 'status', status: 500 },
      { kind: 'success', content: 'fine' },
    ]);
    const result = await model().generate(prompt);
    assert.equal(result.text, 'fine');
    assert.equal(server.completionRequests.length, 2);
  });

  it('persistent 503: bounded retries, then an error naming URL and status', async () => {
    fresh([{ kind: 'status', status: 503, message: 'overloaded' }]);
    await assert.rejects(model({ retries: 2 }).generate(prompt), (error: unknown) => {
      assert.ok(error instanceof PmgError);
      assert.equal(error.code, 'provider-call-failed');
      assert.equal(error.details.status, 503);
      assert.equal(error.details.url, `${server.baseUrl}/chat/completions`);
      assert.equal(error.isRetryable, true);
      assert.match(error.message, /HTTP 503: overloaded \(after 3 attempts\)/);
      assert.ok(error.message.includes(server.baseUrl));
      return true;
    });
    assert.equal(server.completionRequests.length, 3);
  });

  it('a dropped connection is retried', async () => {
    fresh([{ kind: 'reset' }, { kind: 'success', content: 'again' }]);
    assert.equal((await model().generate(prompt)).text, 'again');
    assert.equal(server.completionRequests.length, 2);
  });

  it('400 is not retried (1 request) and the error names the status and server message', async () => {
    fresh([
      { kind: 'status', status: 400, message: 'bad model' },
      { kind: 'success', content: 'never' },
    ]);
    await assert.rejects(model().generate(prompt), (error: unknown) => {
      assert.ok(error instanceof PmgError);
      assert.equal(error.code, 'provider-call-failed');
      assert.equal(error.details.status, 400);
      assert.equal(error.isRetryable, false);
      assert.match(error.message, /HTTP 400: bad model$/);
      return true;
    });
    assert.equal(server.completionRequests.length, 1);
  });

  it('401 and 404 are not retried', async () => {
    for (const status of [401, 404]) {
      fresh([
        { kind: 'status', status },
        { kind: 'success', content: 'never' },
      ]);
      await assert.rejects(model().generate(prompt), { code: 'provider-call-failed' });
      assert.equal(server.completionRequests.length, 1, `status ${status}`);
    }
  });

  it('429 honours Retry-After before retrying', async () => {
    fresh([
      { kind: 'status', status: 429, headers: { 'retry-after': '0.3' } },
      { kind: 'success', content: 'after wait' },
    ]);
    const started = performance.now();
    const result = await model({ backoffMs: 1 }).generate(prompt);
    const elapsed = performance.now() - started;
    assert.equal(result.text, 'after wait');
    assert.equal(server.completionRequests.length, 2);
    assert.ok(elapsed >= 280, `waited only ${elapsed} ms`);
  });

  it('429 with a Retry-After longer than the wait cap fails at once', async () => {
    fresh([
      { kind: 'status', status: 429, headers: { 'retry-after': '3600' } },
      { kind: 'success', content: 'never' },
    ]);
    await assert.rejects(model({ maxWaitMs: 1000 }).generate(prompt), { code: 'provider-call-failed' });
    assert.equal(server.completionRequests.length, 1);
  });

  it('a hanging server ends in a timeout error naming the URL (not retried)', async () => {
    fresh([{ kind: 'hang' }]);
    await assert.rejects(model({ timeoutMs: 200 }).generate(prompt), (error: unknown) => {
      assert.ok(error instanceof PmgError);
      assert.equal(error.code, 'timeout');
      assert.equal(error.details.url, `${server.baseUrl}/chat/completions`);
      assert.match(error.message, /within 200 ms/);
      return true;
    });
    assert.equal(server.completionRequests.length, 1);
  });

  it('the caller can abort', async () => {
    fresh([{ kind: 'hang' }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(model({ timeoutMs: 5000 }).generate(prompt, { signal: controller.signal }), { code: 'aborted' });
  });

  it('malformed JSON -> invalid-response', async () => {
    fresh([{ kind: 'malformed' }]);
    await assert.rejects(model().generate(prompt), (error: unknown) => {
      assert.ok(error instanceof PmgError);
      assert.equal(error.code, 'invalid-response');
      assert.match(error.message, /not JSON/);
      return true;
    });
    assert.equal(server.completionRequests.length, 1);
  });

  it('empty choice list -> invalid-response', async () => {
    fresh([{ kind: 'empty-choices' }]);
    await assert.rejects(model().generate(prompt), { code: 'invalid-response', message: /no choices/ });
  });

  it('missing content -> invalid-response', async () => {
    fresh([{ kind: 'no-content' }]);
    await assert.rejects(model().generate(prompt), { code: 'invalid-response', message: /without message content/ });
  });

  it('a base URL without a path gets /v1', async () => {
    fresh([{ kind: 'success', content: 'ok' }]);
    await model({ baseUrl: `http://127.0.0.1:${server.port}` }).generate(prompt);
    assert.equal(server.completionRequests[0]!.path, '/v1/chat/completions');
  });
});

describe('openai-compatible provider without a server', () => {
  it('connection refused is retried, then a clear error naming the URL', async () => {
    const port = await freePort();
    let calls = 0;
    const countingFetch: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const llm = new OpenAiCompatibleLanguageModel({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm', retries: 2, backoffMs: 5, fetch: countingFetch });
    await assert.rejects(llm.generate('hi'), (error: unknown) => {
      assert.ok(error instanceof PmgError);
      assert.equal(error.code, 'provider-call-failed');
      assert.equal(error.details.url, `http://127.0.0.1:${port}/v1/chat/completions`);
      assert.match(error.message, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/v1/chat/completions \\(ECONNREFUSED\\).*after 3 attempts`));
      return true;
    });
    assert.equal(calls, 3);
  });

  it('needs a model name and an http(s) URL', () => {
    assert.throws(() => new OpenAiCompatibleLanguageModel({ baseUrl: 'http://127.0.0.1:1/v1', model: '' }), {
      code: 'invalid-argument',
      message: /^llmModel is missing/,
    });
    assert.throws(() => new OpenAiCompatibleLanguageModel({ baseUrl: 'ftp://x/v1', model: 'm' }), { code: 'invalid-argument' });
    assert.throws(() => new OpenAiCompatibleLanguageModel({ baseUrl: 'not a url', model: 'm' }), { code: 'invalid-argument' });
  });

  it('builds the chat-completions URL from a base URL', () => {
    assert.equal(chatCompletionsUrl('http://h:8080'), 'http://h:8080/v1/chat/completions');
    assert.equal(chatCompletionsUrl('http://h:8080/'), 'http://h:8080/v1/chat/completions');
    assert.equal(chatCompletionsUrl('http://h:8080/v1/'), 'http://h:8080/v1/chat/completions');
    assert.equal(chatCompletionsUrl('https://h/api/openai/v1'), 'https://h/api/openai/v1/chat/completions');
    assert.equal(chatCompletionsUrl('http://h/v1/chat/completions'), 'http://h/v1/chat/completions');
  });

  it('parses Retry-After seconds and dates', () => {
    assert.equal(parseRetryAfter('2'), 2000);
    assert.equal(parseRetryAfter('0.5'), 500);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now), 3000);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
