import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { PmgError } from '../../errors/pmg-error.js';
import { startA1111Server } from '../../testing/a1111-server.js';
import { imageGeneratorContract } from '../../testing/image-generator-contract.js';
import {
  checkAbortInterrupts,
  checkLiveProgress,
  generateWith,
  oneCandidate as one,
  plainAndWeighted,
  smallRemote as small,
} from '../../testing/remote-generator-checks.js';
import { createA1111Generator } from './a1111-generator.js';
import { weightedPromptText } from './remote-generator.js';

const server = await startA1111Server({ stepMs: 3 });
after(() => server.close());
const fast = { pollMs: 2, backoffMs: 5 };

imageGeneratorContract({ name: 'a1111 (fake server)', create: () => createA1111Generator(`a1111:${server.baseUrl}`, fast), settings: small });

async function generateOnce(url: string, options: Parameters<typeof createA1111Generator>[1], settings = one()): Promise<void> {
  await generateWith(await createA1111Generator(`a1111:${url}`, options), settings);
}

test('a1111: the id names the server and its checkpoint; each candidate is one txt2img with its own seed, batch 1, the mapped sampler', async () => {
  const generator = await createA1111Generator(`a1111:${server.baseUrl}/`, fast);
  assert.equal(generator.id, `a1111:${server.baseUrl}#fake-sd15.safetensors [0123456789]`);
  const before = server.requests.length;
  const generation = await generator.start(
    plainAndWeighted('movie poster, a (cat)', { base: 'movie poster', extra: 'red, dark', weight: 1.5 }, 11, 'euler-ancestral'),
  );
  assert.equal(generation.scheduler.name, 'euler-ancestral');
  await generation.run();
  assert.deepEqual((await generation.finish()).images.dims, [2, 3, 16, 16]);
  const sent = server.requests.slice(before);
  assert.equal(sent.length, 2);
  assert.deepEqual(
    sent.map((b) => [b.prompt, b.negative_prompt, b.seed, b.batch_size, b.n_iter, b.sampler_name, b.steps, b.cfg_scale]),
    [
      ['movie poster, a \\(cat\\)', 'blurry', 11, 1, 1, 'Euler a', 4, 7],
      ['movie poster, (red, dark:1.5)', '', 11, 1, 1, 'Euler a', 4, 7],
    ],
  );
});

test('weighted spans become A1111 emphasis: weight 1 plain, others (text:w), weight 0 dropped, syntax escaped', () => {
  const a1111 = /[\\()[\]]/g;
  assert.equal(
    weightedPromptText(
      [
        { text: 'poster [x]', weight: 1 },
        { text: 'red', weight: 2 },
        { text: 'gone', weight: 0 },
        { text: 'blue', weight: 0.33333 },
      ],
      a1111,
    ),
    'poster \\[x\\], (red:2), (blue:0.333)',
  );
  assert.equal(weightedPromptText('a\\b (c)', a1111), 'a\\\\b \\(c\\)');
});

test('a1111: a scheduler without an A1111 sampler, latents, soft tokens or a tiny decoder are refused before any request', async () => {
  const generator = await createA1111Generator(`a1111:${server.baseUrl}`, fast);
  const before = server.requests.length;
  const refused = (field: string) => (error: unknown) =>
    error instanceof PmgError && error.code === 'invalid-argument' && error.message.startsWith(`${field}:`) && error.message.includes(generator.id);
  await assert.rejects(generator.start(one({ scheduler: 'ddpm' })), refused('scheduler'));
  await assert.rejects(generator.start(one({ finalDecoder: 'tiny' })), refused('finalDecoder'));
  await assert.rejects(generator.start(one({ latents: { data: new Float32Array(16), dims: [1, 4, 2, 2] } })), refused('latents'));
  await assert.rejects(generator.start(one({ candidates: [{ prompt: 'x', extraTokens: { data: new Float32Array(4), dims: [1, 4] } }] })), refused('soft'));
  assert.equal(server.requests.length, before, 'nothing was sent');
});

test('a1111: a 500 once is retried and then succeeds', async () => {
  const flaky = await startA1111Server({ failures: [{ kind: 'status', status: 500, detail: 'CUDA out of memory' }, { kind: 'ok' }] });
  try {
    await generateOnce(flaky.baseUrl, fast);
    assert.equal(flaky.requests.length, 2, 'one retry');
  } finally {
    await flaky.close();
  }
});

test("a1111: a 422 is not retried and its detail is in pmg's one-line error", async () => {
  const strict = await startA1111Server({ failures: [{ kind: 'status', status: 422, detail: 'ensure this value is greater than 0' }] });
  try {
    await assert.rejects(generateOnce(strict.baseUrl, fast), (error: unknown) => {
      assert.ok(error instanceof PmgError);
      assert.equal(error.code, 'provider-call-failed');
      assert.ok(!error.message.includes('\n'));
      assert.match(error.message, new RegExp(`^a1111 server ${strict.baseUrl}: 422 Unprocessable Entity: steps: ensure this value is greater than 0`));
      return true;
    });
    assert.equal(strict.requests.length, 1, 'no retry on 4xx');
  } finally {
    await strict.close();
  }
});

test('a1111: 5xx every time ends after the retries with the server text', async () => {
  const broken = await startA1111Server({ failures: [{ kind: 'status', status: 503, detail: 'model is loading' }] });
  try {
    await assert.rejects(
      generateOnce(broken.baseUrl, { ...fast, retries: 2 }),
      /^PmgError: a1111 server .*: 503 Service Unavailable: RuntimeError: model is loading \(after 3 attempts\)/,
    );
    assert.equal(broken.requests.length, 3);
  } finally {
    await broken.close();
  }
});

test('a1111: an answer cut off halfway is a connection error, retried', async () => {
  const cut = await startA1111Server({ failures: [{ kind: 'truncate' }, { kind: 'ok' }] });
  try {
    await generateOnce(cut.baseUrl, fast);
    assert.equal(cut.requests.length, 2);
    cut.failures.splice(0, cut.failures.length, { kind: 'truncate' });
    await assert.rejects(
      generateOnce(cut.baseUrl, { ...fast, retries: 0 }),
      /^PmgError: a1111 server .*: \/sdapi\/v1\/txt2img: connection failed: the server dropped the connection mid-answer; is the server running\?$/,
    );
  } finally {
    await cut.close();
  }
});

test('a1111: a dropped connection is retried; a hung server times out without a retry', async () => {
  const dropping = await startA1111Server({ failures: [{ kind: 'drop' }, { kind: 'ok' }] });
  const hanging = await startA1111Server({ failures: [{ kind: 'hang' }] });
  try {
    await generateOnce(dropping.baseUrl, fast);
    assert.equal(dropping.requests.length, 2);
    await assert.rejects(generateOnce(hanging.baseUrl, { ...fast, timeoutMs: 150 }), (error: unknown) => {
      assert.ok(error instanceof PmgError && error.code === 'timeout', String(error));
      assert.match(error.message, /no complete answer within 150ms/);
      return true;
    });
    assert.equal(hanging.requests.length, 1, 'a timeout is not retried');
  } finally {
    await dropping.close();
    await hanging.close();
  }
});

test('a1111: no server is a one-line error naming it; a bad spec names the field', async () => {
  const gone = await startA1111Server();
  const url = gone.baseUrl;
  await gone.close();
  await assert.rejects(createA1111Generator(`a1111:${url}`, { ...fast, retries: 1 }), (error: unknown) => {
    assert.ok(error instanceof PmgError && error.code === 'provider-call-failed');
    assert.match(
      error.message,
      new RegExp(`^a1111 server ${url}: /sdapi/v1/options: connection failed: connect ECONNREFUSED .*\\(after 2 attempts\\); is the server running\\?$`),
    );
    return true;
  });
  await assert.rejects(createA1111Generator('a1111:localhost'), /^PmgError: generator: 'a1111:localhost' has no server URL; write a1111:http:\/\/host:port$/);
  await assert.rejects(
    createA1111Generator('a1111:ftp://h:1'),
    /^PmgError: generator: 'a1111:ftp:\/\/h:1' has a ftp: URL, not http or https; write a1111:http:\/\/host:port$/,
  );
});

test('a1111: an abort mid-run interrupts the server', async () => {
  const slow = await startA1111Server({ stepMs: 30 });
  try {
    await checkAbortInterrupts(await createA1111Generator(`a1111:${slow.baseUrl}`, fast), () => slow.interrupts);
  } finally {
    await slow.close();
  }
});

test('a1111: progress reaches onStep while the server runs', async () => {
  const slow = await startA1111Server({ stepMs: 25 });
  try {
    await checkLiveProgress(await createA1111Generator(`a1111:${slow.baseUrl}`, fast), () => slow.completed);
  } finally {
    await slow.close();
  }
});
