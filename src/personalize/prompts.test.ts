import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { loadPrompts, renderPrompt, templateNames } from './prompts.js';

test('every shipped template loads, has a version, and uses the Vicuna turns', () => {
  const set = loadPrompts();
  for (const name of templateNames) {
    const t = set[name];
    assert.equal(t.name, name);
    assert.ok(t.version.length > 0);
    assert.match(t.text, /### Human: /, name);
    assert.match(t.text, /\n### Assistant:[^\n]*$/, name);
  }
});

test('primed assistant turns end exactly as the keyword, character and emotion parsers expect', () => {
  const set = loadPrompts();
  for (const name of [
    'movie-preference',
    'fashion-preference',
    'movie-target',
    'fashion-target',
    'movie-attribute',
    'fashion-attribute',
    'select-keywords',
  ] as const) {
    assert.ok(set[name].text.endsWith('### Assistant: The keywords are:'), name);
  }
  assert.ok(set['sticker-character'].text.endsWith('The character is'));
  assert.ok(set['sticker-conversation'].text.endsWith('Emotion:'));
  assert.equal(set['movie-target'].ask, 10);
  assert.equal(set['movie-target'].use, 5);
  assert.deepEqual(set['fashion-attribute'].attributes, ['colour', 'material', 'season', 'style', 'elements']);
});

test('rendering fills placeholders once and shows the example output form', () => {
  const set = loadPrompts();
  const text = renderPrompt(set['movie-preference'], { count: 8, items: '0. {{count}} 1. B' });
  assert.match(text, /Give 8 distinctive keywords/);
  assert.match(text, /0\. \{\{count\}\} 1\. B/);
  assert.match(text, /1\. keyword 2\. keyword 3\. keyword/);
});

test('a line that uses an empty optional placeholder is left out; "optional" must name the template\'s placeholders', () => {
  const set = loadPrompts();
  assert.deepEqual(set['movie-target'].optional, ['genres', 'synopsis']);
  const full = renderPrompt(set['fashion-target'], { ask: 8, title: 'Shirt', category: 'tops', synopsis: 'linen' });
  assert.match(full, /"Shirt"\.\nCategory: tops\.\nDetails: linen\nDescribe it in 8 keywords/);
  const bare = renderPrompt(set['fashion-target'], { ask: 8, title: 'Shirt', category: '', synopsis: ' ' });
  assert.match(bare, /"Shirt"\.\nDescribe it in 8 keywords/);
  const dir = mkdtempSync(join(tmpdir(), 'pmg-prompts-'));
  try {
    writeFileSync(join(dir, 'movie-target.json'), JSON.stringify({ version: 1, optional: ['items'], template: '{{title}}' }));
    assert.throws(() => loadPrompts({ dir }), /movie-target\.json: "optional" must be a list of this template's placeholders/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--prompts DIR overrides only the files present and checks them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pmg-prompts-'));
  try {
    writeFileSync(
      join(dir, 'movie-preference.json'),
      JSON.stringify({ version: 'mine-2', template: ['### Human: {{items}} x{{count}}', '### Assistant: The keywords are:'] }),
    );
    const set = loadPrompts({ dir });
    assert.equal(set['movie-preference'].version, 'mine-2');
    assert.equal(set['movie-preference'].source, join(dir, 'movie-preference.json'));
    assert.equal(set['fashion-preference'].version, '1');
    writeFileSync(join(dir, 'movie-target.json'), JSON.stringify({ version: 1, template: '{{items}}' }));
    assert.throws(
      () => loadPrompts({ dir }),
      (e: unknown) => e instanceof PmgError && /movie-target\.json: unknown placeholder \{\{items\}\}/.test(e.message),
    );
    rmSync(join(dir, 'movie-target.json'));
    writeFileSync(join(dir, 'moive-preference.json'), '{}');
    assert.throws(
      () => loadPrompts({ dir }),
      (e: unknown) => e instanceof PmgError && /unknown template file moive-preference\.json/.test(e.message),
    );
    rmSync(join(dir, 'moive-preference.json'));
    writeFileSync(join(dir, 'sticker-character.json'), JSON.stringify({ template: 'x' }));
    assert.throws(
      () => loadPrompts({ dir }),
      (e: unknown) => e instanceof PmgError && /"version" must be/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(
    () => loadPrompts({ dir: join(dir, 'gone') }),
    (e: unknown) => e instanceof PmgError && e.code === 'file-not-found',
  );
});
