import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { PmgError } from '../../errors/pmg-error.js';
import { startComfyuiServer } from '../../testing/comfyui-server.js';
import { imageGeneratorContract } from '../../testing/image-generator-contract.js';
import {
  checkAbortInterrupts,
  checkLiveProgress,
  generateWith,
  oneCandidate as one,
  plainAndWeighted,
  smallRemote as small,
} from '../../testing/remote-generator-checks.js';
import { createComfyuiGenerator } from './comfyui-generator.js';
import type { RemoteGeneratorOptions } from './remote-generator.js';

const server = await startComfyuiServer({ stepMs: 3 });
after(() => server.close());
const fast = { pollMs: 5, backoffMs: 5 };

imageGeneratorContract({ name: 'comfyui (fake server)', create: () => createComfyuiGenerator(`comfyui:${server.baseUrl}`, fast), settings: small });

async function generateOnce(spec: string, options: RemoteGeneratorOptions = fast, settings = one()): Promise<Float32Array> {
  return (await generateWith(await createComfyuiGenerator(spec, options), settings)).data;
}

test("comfyui: the workflow is pmg's six nodes with the candidate's seed, mapped sampler and escaped prompt; the id names the checkpoint", async () => {
  const generator = await createComfyuiGenerator(`comfyui:${server.baseUrl}`, fast);
  assert.equal(generator.id, `comfyui:${server.baseUrl}#ckpt=fake-sd15.safetensors`, 'the server default: its first checkpoint');
  const before = server.prompts.length;
  assert.deepEqual(
    (await generateWith(generator, plainAndWeighted('poster (x)', { base: 'poster', extra: 'red', weight: 2 }, 9, 'dpm-solver++'))).dims,
    [2, 3, 16, 16],
  );
  const sent = server.prompts.slice(before);
  assert.equal(sent.length, 2);
  const first = sent[0]!.prompt;
  assert.deepEqual(
    Object.values(first)
      .map((n) => n.class_type)
      .sort(),
    ['CLIPTextEncode', 'CLIPTextEncode', 'CheckpointLoaderSimple', 'EmptyLatentImage', 'KSampler', 'SaveImage', 'VAEDecode'].sort(),
  );
  assert.equal(first['3']!.inputs.sampler_name, 'dpmpp_2m');
  assert.equal(first['3']!.inputs.seed, 9);
  assert.equal(first['6']!.inputs.text, 'poster \\(x\\)');
  assert.equal(first['7']!.inputs.text, 'blurry');
  assert.equal(sent[1]!.prompt['6']!.inputs.text, 'poster, (red:2)');
  assert.equal(sent[0]!.client_id, sent[1]!.client_id);
  assert.ok(server.sockets >= 2, 'progress followed over the websocket');
});

test('comfyui: #ckpt= picks the checkpoint; an unknown one is refused listing the server’s; pndm has no ComfyUI sampler', async () => {
  const other = await createComfyuiGenerator(`comfyui:${server.baseUrl}#ckpt=other.ckpt`, fast);
  assert.equal(other.checkpoint, 'other.ckpt');
  await assert.rejects(
    createComfyuiGenerator(`comfyui:${server.baseUrl}#ckpt=nope.safetensors`, fast),
    /^PmgError: generator: the comfyui server .* has no checkpoint 'nope.safetensors'; use one of fake-sd15.safetensors, other.ckpt$/,
  );
  await assert.rejects(
    createComfyuiGenerator(`comfyui:${server.baseUrl}#model=x`, fast),
    /unknown option 'model'; write comfyui:http:\/\/host:port\[#ckpt=…\]/,
  );
  await assert.rejects(
    other.start(one({ scheduler: 'pndm' })),
    /^PmgError: scheduler: the image generator comfyui:.* cannot run the pndm scheduler; use one of euler, euler-ancestral, ddim, dpm-solver\+\+, lcm$/,
  );
});

test('comfyui: without a websocket, or when it drops mid-run, /history is polled and the images are the same', async () => {
  const reference = await generateOnce(`comfyui:${server.baseUrl}`);
  const noSocket = await startComfyuiServer({ noSocket: true });
  const dropping = await startComfyuiServer({ dropSocket: true, stepMs: 10 });
  try {
    assert.deepEqual(await generateOnce(`comfyui:${noSocket.baseUrl}`), reference);
    assert.equal(noSocket.sockets, 0);
    assert.deepEqual(await generateOnce(`comfyui:${dropping.baseUrl}`), reference);
    assert.equal(dropping.sockets, 1, 'the socket was there and dropped mid-run');
  } finally {
    await noSocket.close();
    await dropping.close();
  }
});

test("comfyui: execution_error fails with the server's exception in one line, without a retry", async () => {
  const failing = await startComfyuiServer({ executionError: { message: 'Allocation on device 0 would exceed allowed memory', count: 1 } });
  try {
    await assert.rejects(generateOnce(`comfyui:${failing.baseUrl}`), (error: unknown) => {
      assert.ok(error instanceof PmgError && error.code === 'provider-call-failed');
      assert.ok(!error.message.includes('\n'));
      assert.match(
        error.message,
        /^comfyui server http:\/\/127\.0\.0\.1:\d+: prompt [0-9a-f-]+ failed in KSampler \(node 3\): torch\.OutOfMemoryError: Allocation on device 0 would exceed allowed memory;/,
      );
      return true;
    });
    assert.equal(failing.prompts.length, 1);
  } finally {
    await failing.close();
  }
});

test('comfyui: a 500 or a cut-off answer on /prompt is retried; a 400 validation error is not, and names the node and the value', async () => {
  const flaky = await startComfyuiServer({ failures: [{ kind: 'status', status: 500, detail: 'boom' }, { kind: 'ok' }] });
  try {
    await generateOnce(`comfyui:${flaky.baseUrl}`);
    assert.equal(flaky.prompts.length, 2);
    flaky.failures.splice(0, flaky.failures.length, { kind: 'truncate' }, { kind: 'ok' });
    await generateOnce(`comfyui:${flaky.baseUrl}`);
    assert.equal(flaky.prompts.length, 4, 'an answer cut off halfway is retried too');
    const generator = await createComfyuiGenerator(`comfyui:${flaky.baseUrl}`, fast);
    // A checkpoint the server lost after start: its own validation answer.
    Object.assign(generator, { checkpoint: 'gone.safetensors' });
    const before = flaky.prompts.length;
    const generation = await generator.start(one());
    await assert.rejects(
      generation.run(),
      /^PmgError: comfyui server .*: 400 Bad Request: Prompt outputs failed validation; node 4 \(CheckpointLoaderSimple\): Value not in list: ckpt_name: 'gone.safetensors' not in list; fix the request$/,
    );
    assert.equal(flaky.prompts.length, before + 1, 'no retry on 400');
  } finally {
    await flaky.close();
  }
});

test('comfyui: a hung /prompt times out; an abort mid-run interrupts the server', async () => {
  const hanging = await startComfyuiServer({ failures: [{ kind: 'hang' }] });
  const slow = await startComfyuiServer({ stepMs: 30 });
  try {
    await assert.rejects(
      generateOnce(`comfyui:${hanging.baseUrl}`, { ...fast, timeoutMs: 150 }),
      (error: unknown) => error instanceof PmgError && error.code === 'timeout',
    );
    assert.equal(hanging.prompts.length, 1);
    await checkAbortInterrupts(await createComfyuiGenerator(`comfyui:${slow.baseUrl}`, fast), () => slow.interrupts);
  } finally {
    await hanging.close();
    await slow.close();
  }
});

test('comfyui: progress reaches onStep while the server runs', async () => {
  const slow = await startComfyuiServer({ stepMs: 25 });
  try {
    await checkLiveProgress(await createComfyuiGenerator(`comfyui:${slow.baseUrl}`, fast), () => slow.completed);
  } finally {
    await slow.close();
  }
});
