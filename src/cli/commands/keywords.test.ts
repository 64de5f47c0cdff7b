import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { TINY_CAPTION, writeTinyCaptioner } from '../../fixtures/tiny-captioner.js';
import { writeTinyLlm } from '../../fixtures/tiny-llm.js';
import { startOpenAiServer } from '../../testing/openai-server.js';
import { runCli } from '../../testing/run-cli.js';

let root: string;
let llmDir: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-keywords-'));
  llmDir = join(root, 'tiny-llm');
  await writeTinyLlm(llmDir);
});
after(() => rmSync(root, { recursive: true, force: true }));

/** Run `pmg ...` in a fresh working folder with its own cache dir. */
async function pmg(args: string[], files: Record<string, string> = {}, cwd = mkdtempSync(join(root, 'run-'))) {
  for (const [name, content] of Object.entries(files)) writeFileSync(join(cwd, name), content);
  const cacheDir = join(cwd, 'cache');
  return { ...(await runCli(args, { cwd, env: { PMG_CACHE_DIR: cacheDir, PMG_OFFLINE: '1' } })), cwd, cacheDir };
}

const history = JSON.stringify([
  { title: 'Toy Story (1995)', genres: ['Animation', 'Comedy'], keywords: ['toys'] },
  { title: 'Heat', genres: 'Action|Crime' },
]);
const target = JSON.stringify({ title: 'Alien', genres: ['Horror'], description: 'A crew meets a creature.' });
const eight = ['vintage', 'noir', 'neon', 'retro', 'pastel', 'cinematic', 'minimal', 'dramatic'];

test('movie end to end on the tiny LLM through the onnx provider; the second run is cached', async () => {
  const first = await pmg(['keywords', '--scene', 'movie', '--history', 'h.json', '--target', 't.json', '--llm', `onnx:${llmDir}`, '--json'], {
    'h.json': history,
    't.json': target,
  });
  assert.equal(first.code, 0, first.stderr);
  const result = JSON.parse(first.stdout);
  assert.deepEqual(Object.keys(result), ['scene', 'preference', 'target', 'prompts', 'raw', 'model', 'cached']);
  assert.equal(result.scene, 'movie');
  assert.deepEqual(result.preference, eight);
  assert.deepEqual(result.target, eight.slice(0, 5));
  assert.match(result.prompts.preference, /0\. Toy Story \(1995\) \(Animation, Comedy\): toys 1\. Heat \(Action, Crime\)/);
  assert.match(result.raw.preference, /1\. vintage 2\. noir/);
  assert.equal(result.model, `onnx:${llmDir}`);
  assert.equal(result.cached, false);
  assert.ok(existsSync(join(first.cacheDir, 'keywords.sqlite')));

  const second = await pmg(['keywords', '--scene', 'movie', '--history', 'h.json', '--target', 't.json', '--llm', `onnx:${llmDir}`, '--json'], {}, first.cwd);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(JSON.parse(second.stdout).cached, true);
  assert.deepEqual(JSON.parse(second.stdout).preference, eight);
});

test('fashion end to end, text output, LLM from pmg.config.json, --no-cache writes nothing', async () => {
  const r = await pmg(['keywords', '--scene', 'fashion', '--history', 'h.json', '--count', '3', '--no-cache'], {
    'h.json': JSON.stringify([{ title: 'Linen shirt' }, { title: 'Straw hat' }]),
    'pmg.config.json': JSON.stringify({ llm: `onnx:${llmDir}` }),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'preference: vintage, noir, neon\ntarget: (no target given)\n');
  assert.equal(existsSync(r.cacheDir), false);
});

test('sticker end to end: character and emotion / expression / posture', async () => {
  const r = await pmg(['keywords', '--scene', 'sticker', '--history', 's.json', '--target', 'c.json', '--llm', `onnx:${llmDir}`, '--json'], {
    's.json': JSON.stringify({ items: [{ title: 'cat waving' }, { description: 'cat laughing' }] }),
    'c.json': JSON.stringify({
      conversation: [
        { speaker: 'A', text: 'I passed the exam!' },
        { speaker: 'B', text: 'Wow' },
      ],
    }),
  });
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.deepEqual(result.preference, ['a cute cat']);
  assert.deepEqual(result.target, ['happy', 'smiling', 'waving']);
  assert.ok(result.prompts.preference.endsWith('The character is'));
  assert.ok(result.prompts.target.endsWith('Emotion:'));
});

test('--dataset movielens builds the history with the official protocol', async () => {
  const cwd = mkdtempSync(join(root, 'run-'));
  const data = join(cwd, 'ml');
  mkdirSync(data);
  writeFileSync(
    join(data, 'movies.csv'),
    'movieId,title,genres\r\n1,Toy Story (1995),Animation|Comedy\r\n2,Heat (1995),Action|Crime\r\n3,"Alien, The (1979)",Horror\r\n',
  );
  writeFileSync(join(data, 'ratings.csv'), 'userId,movieId,rating,timestamp\r\n7,1,5.0,100\r\n7,2,4.0,200\r\n7,3,4.5,300\r\n');
  const r = await pmg(['keywords', '--dataset', 'movielens', '--data', 'ml', '--user', '7', '--llm', `onnx:${llmDir}`, '--json', '--no-cache'], {}, cwd);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.scene, 'movie');
  assert.match(result.prompts.preference, /0\. Toy Story/);
  assert.equal(result.target.length, 5);
  const bad = await pmg(['keywords', '--dataset', 'movielens', '--data', 'ml', '--user', '99', '--llm', `onnx:${llmDir}`], {}, cwd);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /^pmg: user 99 is not in/);
});

test('an image-only item is captioned with --captioner; without one the error names the item', async () => {
  const captionerDir = join(root, 'tiny-captioner');
  await writeTinyCaptioner(captionerDir);
  const png = new PNG({ width: 8, height: 8 });
  png.data.fill(200);
  const cwd = mkdtempSync(join(root, 'run-'));
  writeFileSync(join(cwd, 'img.png'), PNG.sync.write(png));
  writeFileSync(join(cwd, 'h.json'), JSON.stringify([{ title: 'Linen shirt' }, { id: 'p2', image: 'img.png' }]));
  const ok = await pmg(
    ['keywords', '--scene', 'fashion', '--history', 'h.json', '--llm', `onnx:${llmDir}`, '--captioner', `onnx:${captionerDir}`, '--json', '--no-cache'],
    {},
    cwd,
  );
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(JSON.parse(ok.stdout).prompts.preference, new RegExp(`0\\. Linen shirt 1\\. ${TINY_CAPTION}`));
  const missing = await pmg(['keywords', '--scene', 'fashion', '--history', 'h.json', '--llm', `onnx:${llmDir}`, '--no-cache'], {}, cwd);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /^pmg: history item 1 \(id p2\) has only an image \(img\.png\) and no captioner is configured/);
});

test('--variant structured through an OpenAI-compatible server uses its JSON-schema mode', async () => {
  const server = await startOpenAiServer({ script: [{ kind: 'json-schema', answer: { keywords: ['Film Noir', 'rain', 'film noir', 'neon'] } }] });
  try {
    const r = await pmg(
      [
        'keywords',
        '--scene',
        'movie',
        '--history',
        'h.json',
        '--llm',
        `openai:${server.baseUrl}`,
        '--llm-model',
        'm',
        '--variant',
        'structured',
        '--json',
        '--no-cache',
      ],
      {
        'h.json': history,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).preference, ['film noir', 'rain', 'neon']);
    assert.equal(server.completionRequests.length, 1);
    const body = server.completionRequests[0]!.body as { response_format?: { type?: string } };
    assert.equal(body.response_format?.type, 'json_schema');
  } finally {
    await server.close();
  }
});

const badInputs: { name: string; args: string[]; files: Record<string, string>; message: RegExp }[] = [
  { name: 'missing file', args: ['--history', 'nope.json'], files: {}, message: /history file .*nope\.json does not exist/ },
  {
    name: 'invalid JSON',
    args: ['--history', 'h.json'],
    files: { 'h.json': '[{"title": "a"' },
    message: /h\.json: not valid JSON \(line 1, column 15: expected ',' or '}' after property value\)/,
  },
  {
    name: 'invalid JSON on a later line',
    args: ['--history', 'h.json'],
    files: { 'h.json': '[\n  {"title": "a"},\n  {"title": "b",}\n]' },
    message: /h\.json: not valid JSON \(line 3, column 17: expected double-quoted property name\)/,
  },
  {
    name: 'invalid JSON in pmg.config.json',
    args: ['--history', 'h.json'],
    files: { 'h.json': history, 'pmg.config.json': '{\n  "llmModel": "m"\n  "llm": "x"\n}' },
    message: /config file .*pmg\.config\.json is not valid JSON: line 3, column 3: expected ',' or '}' after property value/,
  },
  { name: 'empty history', args: ['--history', 'h.json'], files: { 'h.json': '[]' }, message: /h\.json: the history is empty/ },
  { name: 'unknown scene', args: ['--scene', 'film', '--history', 'h.json'], files: { 'h.json': history }, message: /unknown scene 'film'/ },
  {
    name: 'item with no title',
    args: ['--history', 'h.json'],
    files: { 'h.json': '[{"title":"a"},{"genres":["Drama"]}]' },
    message: /h\.json: items\[1\] needs a "title"/,
  },
  {
    name: 'title not a string',
    args: ['--history', 'h.json'],
    files: { 'h.json': '[{"title":"a"},{"title":"b"},{"title":3}]' },
    message: /h\.json: items\[2\]\.title must be a string/,
  },
  {
    name: '10 MB field',
    args: ['--history', 'h.json'],
    files: { 'h.json': JSON.stringify([{ title: 'a', description: 'x'.repeat(10 * 1024 * 1024) }]) },
    message: /h\.json: items\[0\]\.description is 10485760 characters long, over the limit of 2000/,
  },
  {
    name: 'bad target',
    args: ['--history', 'h.json', '--target', 't.json'],
    files: { 'h.json': history, 't.json': '{"title": 5}' },
    message: /t\.json: title must be a string/,
  },
  {
    name: 'bad count',
    args: ['--history', 'h.json', '--count', 'lots'],
    files: { 'h.json': history },
    message: /--count must be an integer from 1 to 50, got 'lots'/,
  },
  { name: 'bad variant', args: ['--history', 'h.json', '--variant', 'fancy'], files: { 'h.json': history }, message: /unknown --variant 'fancy'/ },
];

for (const c of badInputs) {
  test(`bad input: ${c.name} -> one clear line, non-zero exit, nothing written`, async () => {
    const args = ['keywords', ...(c.args.includes('--scene') ? [] : ['--scene', 'movie']), ...c.args, '--llm', `onnx:${llmDir}`];
    const r = await pmg(args, c.files);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^pmg: [^\n]+\n$/);
    assert.match(r.stderr, c.message);
    assert.equal(existsSync(r.cacheDir), false, 'no cache written');
    assert.deepEqual(readdirSync(r.cwd).sort(), Object.keys(c.files).sort());
  });
}

test('unknown keys in pmg.config.json get one warning naming them and the known keys; the command still runs', async () => {
  const r = await pmg(['keywords', '--scene', 'fashion', '--history', 'h.json', '--count', '3', '--no-cache'], {
    'h.json': JSON.stringify([{ title: 'Linen shirt' }]),
    'pmg.config.json': JSON.stringify({ llm: `onnx:${llmDir}`, llmmodel: 'm', lm: 'x' }),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'preference: vintage, noir, neon\ntarget: (no target given)\n');
  const warnings = r.stderr.split('\n').filter((line) => line.startsWith('pmg: warning:'));
  assert.deepEqual(warnings, [
    `pmg: warning: config file ${join(r.cwd, 'pmg.config.json')}: unknown keys "llmmodel", "lm" ignored; pmg reads "llm", "llmModel"`,
  ]);
  const clean = await pmg(['keywords', '--scene', 'fashion', '--history', 'h.json', '--count', '3', '--no-cache'], {
    'h.json': JSON.stringify([{ title: 'Linen shirt' }]),
    'pmg.config.json': JSON.stringify({ llm: `onnx:${llmDir}` }),
  });
  assert.doesNotMatch(clean.stderr, /warning/);
});

test('without --llm or a config file the error says to pass --llm', async () => {
  const r = await pmg(['keywords', '--scene', 'movie', '--history', 'h.json'], { 'h.json': history });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^pmg: no LLM configured; pass --llm onnx:/);
});
