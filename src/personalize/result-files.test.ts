import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PersonalizeResult } from './personalize.js';
import { writeResultFolder } from './result-files.js';

const root = mkdtempSync(join(tmpdir(), 'pmg-result-files-'));
after(() => rmSync(root, { recursive: true, force: true }));

const result: PersonalizeResult = {
  scene: 'fashion',
  method: 'pmg',
  alpha: 2 / 3,
  mode: 'repeat',
  search: 'early',
  keywords: { preference: ['linen'], target: ['shirt'], prompts: {}, raw: {}, model: 'm', cached: false },
  candidates: [
    {
      weights: { preference: 2, target: 1 },
      prompt: 'p2',
      negative: 'n',
      seed: 0,
      dp: 20,
      dt: 25,
      z: 3.1,
      png: Buffer.from('a'),
      finished: false,
      decoder: 'tiny',
      contextTokens: 77,
    },
    {
      weights: { preference: 3, target: 1 },
      prompt: 'p3',
      negative: 'n',
      seed: 0,
      dp: 22,
      dt: 24,
      z: 3.2,
      png: Buffer.from('b'),
      finished: true,
      decoder: 'vae',
      contextTokens: 77,
    },
  ],
  scoring: { targetText: 'costume, shirt', preferenceText: 'linen' },
  chosen: 1,
  timings: { total: 5 },
  settings: { steps: 2, guidance: 0, width: 64, height: 64, seed: 0, promptStyle: 'pmg', finalDecoder: 'vae', previewDecoder: 'tiny' },
};
const models = { llm: 'l', clip: 'c', sd: 's', decoder: 'd' };

test('writes best.png (the chosen candidate), candidate-<i>.png and result.json into a new folder', async () => {
  const files = await writeResultFolder(join(root, 'new'), result, { models });
  assert.deepEqual(readdirSync(join(root, 'new')).sort(), ['best.png', 'candidate-0.png', 'candidate-1.png', 'result.json']);
  assert.equal(readFileSync(files.best, 'utf8'), 'b');
  const json = JSON.parse(readFileSync(files.resultJson, 'utf8'));
  assert.deepEqual(json.prompt, ['p2', 'p3']);
  assert.equal(json.candidates[0].image, 'candidate-0.png');
  assert.equal(json.candidates[0].finished, false);
  assert.deepEqual(
    json.candidates.map((c: { decoder: string }) => c.decoder),
    ['tiny', 'vae'],
    'each image names the decoder that made it',
  );
  assert.equal(json.settings.finalDecoder, 'vae');
  assert.equal(json.chosen, 1);
  assert.deepEqual(json.models, models);
  assert.deepEqual(json.scoring, { targetText: 'costume, shirt', preferenceText: 'linen' });
  assert.ok(!readdirSync(root).some((n) => n.includes('.tmp-')));
});

test('a re-run with fewer candidates removes the stale candidate images of the previous result, and nothing else', async () => {
  const out = join(root, 'rerun');
  await writeResultFolder(out, result, { models });
  writeFileSync(join(out, 'candidate-7.png'), 'not listed by result.json');
  writeFileSync(join(out, 'notes.txt'), 'mine');
  const fewer: PersonalizeResult = { ...result, candidates: [result.candidates[1]!], chosen: 0 };
  await writeResultFolder(out, fewer, { models });
  assert.deepEqual(readdirSync(out).sort(), ['best.png', 'candidate-0.png', 'candidate-7.png', 'notes.txt', 'result.json']);
  assert.equal(readFileSync(join(out, 'candidate-0.png'), 'utf8'), 'b');
  assert.equal(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).candidates.length, 1);
});

test('an empty existing folder is replaced; a file at --out or a missing parent is refused with nothing written', async () => {
  mkdirSync(join(root, 'empty'));
  await writeResultFolder(join(root, 'empty'), result, { models });
  assert.ok(existsSync(join(root, 'empty', 'result.json')));
  writeFileSync(join(root, 'file'), 'x');
  await assert.rejects(writeResultFolder(join(root, 'file'), result, { models }), /is a file/);
  await assert.rejects(writeResultFolder(join(root, 'no', 'such'), result, { models }), /does not exist/);
  assert.ok(!existsSync(join(root, 'no')));
  await assert.rejects(writeResultFolder(join(root, 'bad'), { ...result, chosen: 5 }, { models }), /no candidate 5/);
  assert.ok(!existsSync(join(root, 'bad')));
});
