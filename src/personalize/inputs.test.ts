import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { defaultInputLimits, readHistoryFile, readTargetFile, validateHistory, validateTarget } from './inputs.js';

function throwsInput(fn: () => unknown, pattern: RegExp, code = 'invalid-input'): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PmgError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    assert.equal(e.message.includes('\n'), false, 'one line');
    return true;
  });
}

test('a bare list and an {items, conversation} object are both histories', () => {
  const a = validateHistory([{ title: 'Heat', genres: ['Crime'], id: 6 }], 'h.json');
  assert.deepEqual(a, { items: [{ id: '6', title: 'Heat', genres: ['Crime'] }] });
  const b = validateHistory({ items: [{ title: 'cat waving' }], conversation: [{ speaker: 'A', text: 'hi' }] }, 'h.json');
  assert.equal(b.conversation?.[0]?.text, 'hi');
  // MovieLens-style genre strings are split on '|'.
  assert.deepEqual(validateHistory([{ title: 'X', genres: 'Action|Comedy' }], 'h.json').items[0]?.genres, ['Action', 'Comedy']);
});

test('errors name the file, the item index and the field', () => {
  throwsInput(() => validateHistory([{ title: 'ok' }, { title: 'ok' }, { title: 5 }], 'h.json'), /^h\.json: items\[2\]\.title must be a string$/);
  throwsInput(() => validateHistory({ items: [{ title: 'a', genres: ['x', 3] }] }, 'h.json'), /h\.json: items\[0\]\.genres\[1\] must be a string/);
  throwsInput(() => validateHistory([{ genres: ['Drama'] }], 'h.json'), /h\.json: items\[0\] needs a "title"/);
  throwsInput(() => validateHistory([], 'h.json'), /h\.json: the history is empty/);
  throwsInput(() => validateHistory({ items: [] }, 'h.json'), /empty/);
  throwsInput(() => validateHistory('hello', 'h.json'), /must be a list of items/);
  throwsInput(() => validateHistory({ items: [{ title: 'a' }], conversation: [{ speaker: 'A' }] }, 'h.json'), /conversation\[0\]\.text must be a string/);
});

test('an item with only an image or a caption is accepted', () => {
  assert.equal(validateHistory([{ image: 'a.jpg' }], 'h.json').items[0]?.image, 'a.jpg');
  assert.equal(validateHistory([{ caption: 'a red dress' }], 'h.json').items[0]?.caption, 'a red dress');
});

test('size limits: items, field length, list entries, turns', () => {
  const many = Array.from({ length: defaultInputLimits.maxItems + 1 }, (_, i) => ({ title: `m${i}` }));
  throwsInput(() => validateHistory(many, 'h.json'), /201 items, over the limit of 200/);
  throwsInput(() => validateHistory([{ title: 'x'.repeat(2001) }], 'h.json'), /items\[0\]\.title is 2001 characters long, over the limit of 2000/);
  throwsInput(() => validateHistory([{ title: 'a', keywords: Array(51).fill('k') }], 'h.json'), /keywords has 51 entries/);
  const turns = Array.from({ length: 201 }, () => ({ speaker: 'a', text: 'b' }));
  throwsInput(() => validateTarget({ conversation: turns }, 't.json'), /201 turns/);
});

test('targets: an item, {item}, {conversation} or a list of turns', () => {
  assert.equal(validateTarget({ title: 'Heat' }, 't.json').item?.title, 'Heat');
  assert.equal(validateTarget({ item: { title: 'Heat' } }, 't.json').item?.title, 'Heat');
  assert.equal(validateTarget([{ speaker: 'A', text: 'yay' }], 't.json').conversation?.length, 1);
  throwsInput(() => validateTarget({ conversation: [] }, 't.json'), /t\.json: conversation is empty/);
  throwsInput(() => validateTarget({ description: 5 }, 't.json'), /t\.json: description must be a string/);
  throwsInput(() => validateTarget(3, 't.json'), /the target must be/);
});

test('files: missing, invalid JSON, too large, 10 MB field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pmg-inputs-'));
  try {
    throwsInput(() => readHistoryFile(join(dir, 'nope.json')), /history file .*nope\.json does not exist/, 'file-not-found');
    writeFileSync(join(dir, 'bad.json'), '[{"title": "a",]');
    throwsInput(() => readHistoryFile(join(dir, 'bad.json')), /^bad\.json: not valid JSON/);
    writeFileSync(join(dir, 'big.json'), JSON.stringify([{ title: 'a', description: 'x'.repeat(10 * 1024 * 1024) }]));
    throwsInput(() => readHistoryFile(join(dir, 'big.json')), /big\.json: items\[0\]\.description is 10485760 characters long/);
    throwsInput(() => readHistoryFile(join(dir, 'big.json'), { ...defaultInputLimits, maxFileBytes: 1024 * 1024 }), /over the 1\.0 MB limit/);
    writeFileSync(join(dir, 't.json'), '\uFEFF{"title": "Heat"}');
    assert.equal(readTargetFile(join(dir, 't.json')).item?.title, 'Heat');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
