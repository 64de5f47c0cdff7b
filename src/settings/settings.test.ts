import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isPmgError } from '../errors/pmg-error.js';
import { defaultKeywordCachePath } from '../personalize/keyword-cache.js';
import { defaultCacheDatabasePath } from '../personalize/cache-database.js';
import { modelStoreOptions, modelStoreOptionsFromEnv } from '../runtime/model-store.js';
import { cacheDatabaseFile, loadSettings, settingsFromEnvironment } from './settings.js';

test('the keyword cache and the model store agree on the cache folder, XDG_CACHE_HOME included', () => {
  const cases: { env: Record<string, string>; dir: string }[] = [
    { env: { XDG_CACHE_HOME: '/xdg' }, dir: join('/xdg', 'pmg') },
    { env: { XDG_CACHE_HOME: '/xdg', PMG_CACHE_DIR: '/mine' }, dir: '/mine' },
    { env: { HOME: '/home/u' }, dir: join('/home/u', '.cache', 'pmg') },
    { env: {}, dir: join(homedir(), '.cache', 'pmg') },
  ];
  for (const { env, dir } of cases) {
    assert.equal(modelStoreOptionsFromEnv(env).cacheDir, dir, JSON.stringify(env));
    assert.equal(defaultKeywordCachePath(env), join(dir, 'keywords.sqlite'), `keyword cache, ${JSON.stringify(env)}`);
    assert.equal(defaultCacheDatabasePath(env), join(dir, 'keywords.sqlite'), `soft cache, ${JSON.stringify(env)}`);
    assert.equal(cacheDatabaseFile(settingsFromEnvironment(env)), join(dir, 'keywords.sqlite'));
  }
});

test('every documented variable lands in the settings and from there in the store options', () => {
  const settings = settingsFromEnvironment({
    PMG_CACHE_DIR: '/c',
    HF_ENDPOINT: 'https://mirror.example/',
    HF_TOKEN: 'hf_x',
    HF_HUB_OFFLINE: '1',
    PMG_HUB_TIMEOUT: '2.5',
    PMG_LLM_API_KEY: 'sk-1',
    PMG_LLM_TIMEOUT: '7',
    PMG_API_KEY: 'serve-key',
  });
  assert.deepEqual(settings.hub, { endpoint: 'https://mirror.example', token: 'hf_x', offline: true, timeoutMs: 2500 });
  assert.deepEqual(settings.llm, { apiKey: 'sk-1', timeoutMs: 7000 });
  assert.equal(settings.apiKey, 'serve-key');
  const store = modelStoreOptions(settings, { cwd: '/w' });
  assert.equal(store.cacheDir, '/c');
  assert.equal(store.endpoint, 'https://mirror.example');
  assert.equal(store.token, 'hf_x');
  assert.equal(store.offline, true);
  assert.equal(store.connectTimeoutMs, 2500);
  assert.equal(store.responseTimeoutMs, 2500);
  assert.equal(store.cwd, '/w');
  assert.equal(settingsFromEnvironment({ PMG_OFFLINE: '0' }).hub.offline, false);
  assert.equal(settingsFromEnvironment({ PMG_OFFLINE: 'yes' }).hub.offline, true);
  assert.equal(settingsFromEnvironment({}).hub.endpoint, 'https://huggingface.co');
});

test('a bad number is one error naming the variable', () => {
  for (const [name, text] of [
    ['PMG_HUB_TIMEOUT', 'soon'],
    ['PMG_LLM_TIMEOUT', '-1'],
  ] as const) {
    assert.throws(
      () => settingsFromEnvironment({ [name]: text }),
      (error: unknown) =>
        isPmgError(error) && error.code === 'invalid-argument' && error.message.startsWith(`${name} must be`) && error.message.includes(`'${text}'`),
    );
  }
});

test('loadSettings reads pmg.config.json of the folder, or the file it is given, into the LLM defaults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pmg-settings-'));
  try {
    assert.deepEqual(loadSettings({ env: {}, cwd: dir }).llm, {}, 'no config file: no defaults');
    writeFileSync(join(dir, 'pmg.config.json'), JSON.stringify({ llm: 'openai:http://127.0.0.1:1/v1', llmModel: 'm', extra: 1 }));
    const warnings: string[] = [];
    const settings = loadSettings({ env: { PMG_LLM_API_KEY: 'k' }, cwd: dir, warn: (m) => warnings.push(m) });
    assert.deepEqual(settings.llm, { spec: 'openai:http://127.0.0.1:1/v1', model: 'm', apiKey: 'k' });
    assert.match(warnings.join('\n'), /unknown key "extra" ignored/);
    assert.deepEqual(loadSettings({ env: {}, cwd: dir, readConfig: false }).llm, {});
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ llm: 'onnx:./x' }));
    assert.equal(loadSettings({ env: {}, cwd: dir, configFile: 'other.json' }).llm.spec, 'onnx:./x');
    assert.throws(
      () => loadSettings({ env: {}, cwd: dir, configFile: 'missing.json' }),
      (error: unknown) => isPmgError(error) && error.code === 'file-not-found' && !error.message.includes('--'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
