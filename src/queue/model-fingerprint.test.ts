import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeEvalModels } from '../testing/eval-fixture.js';
import { fingerprintParts, folderDigest, modelFingerprint } from './model-fingerprint.js';

describe('modelFingerprint', () => {
  let tmp: string;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'pmg-fingerprint-'));
    await writeEvalModels(join(tmp, 'a', 'fx'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('is the same for a copy of the models folder elsewhere (no absolute paths), and differs when a config differs', () => {
    cpSync(join(tmp, 'a', 'fx'), join(tmp, 'b', 'models'), { recursive: true });
    const a = modelFingerprint({ models: 'fx' }, join(tmp, 'a'));
    assert.match(a, /^mf-[0-9a-f]{16}$/);
    assert.equal(modelFingerprint({ models: join(tmp, 'b', 'models') }, '/'), a);
    writeFileSync(join(tmp, 'b', 'models', 'llm', 'generation_config.json'), '{"changed":true}\n');
    assert.notEqual(modelFingerprint({ models: 'models' }, join(tmp, 'b')), a);
  });

  it('counts weights by size, head and tail: another size, or other bytes at either end, changes the folder digest', () => {
    const dir = join(tmp, 'weights');
    cpSync(join(tmp, 'a', 'fx', 'clip'), dir, { recursive: true });
    const sidecar = join(dir, 'onnx', 'extra.onnx_data');
    const weights = Buffer.alloc(300 * 1024);
    writeFileSync(sidecar, weights);
    const digests = [folderDigest(dir)];
    writeFileSync(sidecar, Buffer.alloc(weights.length + 4));
    digests.push(folderDigest(dir));
    for (const at of [0, weights.length - 1]) {
      const tuned = Buffer.from(weights);
      tuned[at] = 1;
      writeFileSync(sidecar, tuned);
      digests.push(folderDigest(dir));
    }
    assert.equal(new Set(digests).size, 4);
    writeFileSync(sidecar, weights);
    assert.equal(folderDigest(dir), digests[0]);
  });

  it('names hub ids, API LLMs and remote generators by their spec; the decoder choice counts', () => {
    const parts = fingerprintParts({ models: 'fx', generator: 'a1111:http://127.0.0.1:7860' }, join(tmp, 'a'));
    assert.equal(parts.sd, 'a1111:http://127.0.0.1:7860');
    assert.match(parts.llm, /^onnx:folder:[0-9a-f]{16}$/);
    assert.equal(parts.finalDecoder, 'vae');
    const preset = fingerprintParts({ models: 'fast' }, tmp);
    assert.doesNotMatch(preset.sd, /folder:/);
    assert.notEqual(modelFingerprint({ models: 'fast', decoder: 'none' }, tmp), modelFingerprint({ models: 'fast' }, tmp));
  });
});
