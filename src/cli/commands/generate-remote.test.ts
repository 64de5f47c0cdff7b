import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeFixtures } from '../../fixtures/write-fixtures.js';
import { startA1111Server, type FakeA1111Server } from '../../testing/a1111-server.js';
import { startComfyuiServer, type FakeComfyuiServer } from '../../testing/comfyui-server.js';
import { generateArgv, writeMovieInputs } from '../../testing/movie-inputs.js';
import { runCliOffline } from '../../testing/run-cli.js';

let root: string;
let a1111: FakeA1111Server;
let comfy: FakeComfyuiServer;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-generate-remote-'));
  // No sd/: the images come from the server.
  await writeFixtures(join(root, 'fx'), { only: ['llm', 'clip'] });
  writeMovieInputs(root);
  a1111 = await startA1111Server({ stepMs: 2 });
  comfy = await startComfyuiServer({ stepMs: 2 });
});
after(async () => {
  await a1111.close();
  await comfy.close();
  rmSync(root, { recursive: true, force: true });
});

const pmg = (args: string[]) => runCliOffline(args, root);

interface ResultJson {
  keywords: { preference: string[]; target: string[] };
  prompt: string[];
  candidates: { weights: { preference: number }; dp: number; dt: number; finished: boolean }[];
  chosen: number;
  models: { llm: string; clip: string; sd: string; generator?: string };
}

test('generate --generator a1111:URL: keywords and CLIP scores in pmg, one txt2img per candidate, result.json names the generator', async () => {
  const before = a1111.requests.length;
  const r = await pmg([...generateArgv(4), '--weights', '1,2', '--seed', '5', '--generator', `a1111:${a1111.baseUrl}`, '--out', 'out-a1111']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^chosen: candidate \d/);
  assert.ok(existsSync(join(root, 'out-a1111', 'best.png')));
  const result = JSON.parse(readFileSync(join(root, 'out-a1111', 'result.json'), 'utf8')) as ResultJson;
  const id = `a1111:${a1111.baseUrl}#fake-sd15.safetensors [0123456789]`;
  assert.equal(result.models.generator, id);
  assert.equal(result.models.sd, id);
  assert.equal(result.candidates.length, 2);
  assert.ok(result.candidates.every((c) => c.finished && Number.isFinite(c.dp) && Number.isFinite(c.dt)));
  const sent = a1111.requests.slice(before);
  assert.deepEqual(
    sent.map((b) => [b.seed, b.steps, b.width, b.height]),
    [
      [5, 4, 64, 64],
      [5, 4, 64, 64],
    ],
  );
  // The prompts pmg built (repeat mode: the preference keywords w times), as the server got them.
  assert.deepEqual(
    sent.map((b) => b.prompt),
    result.prompt.map((p) => p.replace(/[\\()[\]]/g, (c) => `\\${c}`)),
  );
});

test('generate --generator comfyui:URL#ckpt= works the same way; --previews warns that there are none', async () => {
  const r = await pmg([
    ...generateArgv(3),
    '--weights',
    '1',
    '--generator',
    `comfyui:${comfy.baseUrl}#ckpt=other.ckpt`,
    '--previews',
    'live',
    '--out',
    'out-comfy',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /pmg: warning: --previews: the image generator comfyui:\S+ makes no live previews; none are written/);
  assert.ok(!existsSync(join(root, 'live')) || readdirSync(join(root, 'live')).length === 0);
  const result = JSON.parse(readFileSync(join(root, 'out-comfy', 'result.json'), 'utf8')) as ResultJson;
  assert.equal(result.models.generator, `comfyui:${comfy.baseUrl}#ckpt=other.ckpt`);
  assert.ok(existsSync(join(root, 'out-comfy', 'best.png')));
});

test('what a remote generator cannot do is refused in one line before any keyword or request', async () => {
  const before = a1111.requests.length;
  const cases: [string[], RegExp][] = [
    [['--mode', 'embed'], /^pmg: --mode: the image generator a1111:\S+ .*cannot condition prompts in embed mode; use repeat$/m],
    [['--search', 'early'], /cannot stop early to preview candidates; use the exhaustive search$/m],
    [['--scheduler', 'ddpm'], /cannot run the ddpm scheduler; use one of /m],
  ];
  for (const [flags, message] of cases) {
    const r = await pmg([...generateArgv(2), ...flags, '--generator', `a1111:${a1111.baseUrl}`, '--out', 'out-refused']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, message, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.equal(a1111.requests.length, before, 'no txt2img was sent');
  assert.ok(!existsSync(join(root, 'out-refused')));
});

test('a bad --generator, or one with --sd, is one line naming the flag; a server that is down names it', async () => {
  let r = await pmg([...generateArgv(2), '--generator', 'dalle:http://x', '--out', 'o']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--generator: 'dalle:http:\/\/x' is not a remote generator; write a1111:http:\/\/host:port or comfyui:/);
  r = await pmg([...generateArgv(2), '--generator', `a1111:${a1111.baseUrl}`, '--sd', 'fx/sd', '--out', 'o']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--generator and sd are both given/);
  const gone = await startA1111Server();
  const url = gone.baseUrl;
  await gone.close();
  r = await pmg([...generateArgv(2), '--generator', `a1111:${url}`, '--out', 'o']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`a1111 server ${url}: /sdapi/v1/options: connection failed: connect ECONNREFUSED`));
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});
