import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { defaultKeywordCachePath, keywordCacheKey, openKeywordCache } from './keyword-cache.js';

const parts = { model: 'm', template: 'movie-preference', templateVersion: '1', scene: 'movie', prompt: 'p' };

test('the key changes with the model, the template version, the scene and the prompt', () => {
  const base = keywordCacheKey(parts);
  assert.match(base, /^[0-9a-f]{64}$/);
  for (const change of [{ model: 'n' }, { templateVersion: '2' }, { scene: 'fashion' }, { prompt: 'q' }, { settings: { maxNewTokens: 50 } }]) {
    assert.notEqual(keywordCacheKey({ ...parts, ...change }), base, JSON.stringify(change));
  }
  assert.equal(keywordCacheKey({ ...parts }), base);
});

test('default path: PMG_CACHE_DIR, else ~/.cache/pmg', () => {
  assert.equal(defaultKeywordCachePath({ PMG_CACHE_DIR: '/x/y' }), join('/x/y', 'keywords.sqlite'));
  assert.equal(defaultKeywordCachePath({}), join(homedir(), '.cache', 'pmg', 'keywords.sqlite'));
});

test('values survive reopening; a file that is not SQLite is a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pmg-cache-'));
  try {
    const path = join(dir, 'a', 'k.sqlite');
    const c = openKeywordCache(path);
    c.set('k1', parts, ' 1. a');
    assert.equal(c.get('k1'), ' 1. a');
    assert.equal(c.get('k2'), undefined);
    c.close();
    const again = openKeywordCache(path);
    assert.equal(again.get('k1'), ' 1. a');
    again.close();
    const junk = join(dir, 'junk.sqlite');
    writeFileSync(junk, 'this is not a database, just text '.repeat(200));
    assert.throws(
      () => openKeywordCache(junk),
      (e: unknown) => e instanceof PmgError && /cannot open the keyword cache .*junk\.sqlite.*turn the cache off/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
