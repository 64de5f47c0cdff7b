import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadEvalSamples } from '../experiments/eval-samples.js';
import { PmgError } from '../errors/pmg-error.js';
import { readSampleFile } from './sample-file.js';

const tmp = mkdtempSync(join(tmpdir(), 'pmg-sample-file-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const sample = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  user: '7',
  scene: 'movie',
  history: { items: [{ id: '1', title: 'Heat', genres: ['Crime'] }] },
  target: { item: { id: '2', title: 'Up' } },
  historyImages: [],
  split: 'train',
  ...extra,
});
function file(name: string, lines: unknown[]): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'samples.jsonl'), lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return dir;
}

test('samples dataset: a folder or a .jsonl file, in file order; --split and --limit apply', async () => {
  const dir = file('ok', [sample('a'), '', sample('b', { split: 'test', user: 8 }), sample('c', { split: 'test' })]);
  const all = readSampleFile(dir);
  assert.deepEqual(
    all.samples.map((s) => s.id),
    ['a', 'b', 'c'],
  );
  assert.equal(all.samples[1]!.user, '8');
  assert.deepEqual(all.samples[0]!.history.items[0], { id: '1', title: 'Heat', genres: ['Crime'] });
  assert.deepEqual(
    readSampleFile(join(dir, 'samples.jsonl'), { split: 'test', limit: 1 }).samples.map((s) => s.id),
    ['b'],
  );
  const viaEval = await loadEvalSamples({ dataset: 'samples', data: dir, seed: 0, split: 'test' });
  assert.deepEqual(
    viaEval.samples.map((s) => s.id),
    ['b', 'c'],
  );
  await assert.rejects(
    loadEvalSamples({ dataset: 'samples', data: dir, seed: 0, protocol: 'window' }),
    /a samples file has only the 'file' protocol, got 'window'/,
  );
});

test('samples dataset: each bad line is one error naming file:line and the field', () => {
  const cases: [unknown[], RegExp][] = [
    [[sample('a'), '{"id": '], /samples\.jsonl:2: not valid JSON/],
    [[sample('a'), sample('a')], /samples\.jsonl:2: id 'a' is used by an earlier line; ids must be unique/],
    [[sample('')], /samples\.jsonl:1: id must be a non-empty string/],
    [[sample('a', { scene: 'book' })], /samples\.jsonl:1: scene must be one of movie, fashion, sticker/],
    [[sample('a', { history: { items: [] } })], /samples\.jsonl:1: the history is empty/],
    [[sample('a', { history: { items: [{ title: 3 }] } })], /samples\.jsonl:1: history\.items\[0\]\.title must be a string/],
    [[sample('a', { target: 5 })], /samples\.jsonl:1: target must be an item object/],
    [[sample('a', { split: 'rank' })], /samples\.jsonl:1: split must be one of train, val, test/],
    [[sample('a', { historyImages: [1] })], /samples\.jsonl:1: historyImages must be a list of image paths/],
    [[[1, 2]], /samples\.jsonl:1: the line must be a sample object/],
  ];
  cases.forEach(([lines, message], i) => {
    const dir = file(`bad-${i}`, lines);
    assert.throws(
      () => readSampleFile(dir),
      (e: unknown) => e instanceof PmgError && e.code === 'invalid-input' && message.test(e.message) && !e.message.includes('\n'),
      String(message),
    );
  });
  assert.throws(() => readSampleFile(join(tmp, 'nowhere')), /data: .*nowhere does not exist/);
  mkdirSync(join(tmp, 'empty-dir'));
  assert.throws(() => readSampleFile(join(tmp, 'empty-dir')), /has no samples\.jsonl; give a folder made by 'pmg rec plan'/);
  writeFileSync(join(tmp, 'blank.jsonl'), '\n\n');
  assert.throws(() => readSampleFile(join(tmp, 'blank.jsonl')), /no samples \(the file is empty\)/);
});
