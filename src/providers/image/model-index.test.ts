import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PmgError } from '../../errors/pmg-error.js';
import { writeTinySd } from '../../fixtures/tiny-sd.js';
import { checkModelIndex } from './model-index.js';
import { loadStableDiffusion } from './onnx-stable-diffusion.js';
import { checkSdLayout } from './sd-layout.js';

let root: string;
let model: string;
let index: Record<string, unknown>;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'pmg-model-index-'));
  model = writeTinySd(join(root, 'model'));
  index = JSON.parse(readFileSync(join(model, 'model_index.json'), 'utf8')) as Record<string, unknown>;
});
after(() => rmSync(root, { recursive: true, force: true }));

let copies = 0;
/** A copy of the tiny model whose model_index.json is `text`. */
function withIndex(text: string): string {
  const dir = join(root, `copy-${copies++}`);
  cpSync(model, dir, { recursive: true });
  writeFileSync(join(dir, 'model_index.json'), text);
  return dir;
}

function refused(dir: string, code: string, pattern: RegExp): void {
  assert.throws(
    () => checkSdLayout(dir, 'tiny'),
    (error: unknown) => {
      assert.ok(error instanceof PmgError, String(error));
      assert.equal(error.code, code, error.message);
      assert.match(error.message, pattern);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    },
  );
}

test('a real-shaped model_index.json passes and is read into class name and components', () => {
  const read = checkModelIndex(model, 'tiny');
  assert.equal(read?.className, 'OnnxStableDiffusionPipeline');
  assert.deepEqual(read?.components.unet, ['diffusers', 'OnnxRuntimeModel']);
  assert.equal(read?.components.safety_checker, null);
  assert.equal(checkModelIndex(root, 'none'), undefined, 'no model_index.json: nothing to check');
});

test('an invalid model_index.json is refused in one line naming the file and the key', () => {
  const json = (patch: Record<string, unknown>) => JSON.stringify({ ...index, ...patch }, null, 2);
  const { _class_name: _dropped, ...noClass } = index;
  refused(
    withIndex('{\n  "_class_name": "OnnxStableDiffusionPipeline",\n  "unet": ["diffusers", "OnnxRuntimeModel"]\n  "vae_decoder": null\n}'),
    'invalid-input',
    /model_index\.json is not valid JSON: line 4, column 3: expected ',' or '}'/,
  );
  refused(withIndex('[]'), 'model-layout', /model_index\.json must be a JSON object, got \[\]/);
  refused(withIndex(JSON.stringify(noClass)), 'model-layout', /model_index\.json: "_class_name" must be the pipeline class name \(a string\), got undefined/);
  refused(withIndex(json({ _class_name: 7 })), 'model-layout', /"_class_name" must be the pipeline class name/);
  refused(
    withIndex(json({ unet: ['diffusers'] })),
    'model-layout',
    /model_index\.json: "unet" must be a component entry \["library", "class"\].*got \["diffusers"\]/,
  );
  refused(withIndex(json({ scheduler: ['diffusers', 3] })), 'model-layout', /"scheduler" must be a component entry/);
  refused(withIndex(json({ unet: 'OnnxRuntimeModel' })), 'model-layout', /"unet" must be a component entry \["library", "class"\], got "OnnxRuntimeModel"/);
  refused(withIndex(json({ vae_decoder: null })), 'model-layout', /"vae_decoder" must name the component pmg loads from vae_decoder\//);
  refused(withIndex(json({ text_encoder: [null, null] })), 'model-layout', /"text_encoder" must name the component/);
});

test('a component model_index.json names must exist as a folder where pmg loads it', () => {
  const dir = withIndex(JSON.stringify(index));
  rmSync(join(dir, 'unet'), { recursive: true });
  writeFileSync(join(dir, 'unet'), 'not a folder');
  assert.throws(
    () => checkModelIndex(dir, 'tiny'),
    (error: unknown) =>
      error instanceof PmgError && error.code === 'model-file-missing' && /model_index\.json names "unet" but .*unet is not a folder/.test(error.message),
  );
});

test('settings and optional components are left alone; tokenizer/ and scheduler/ may still come from the base model', () => {
  const dir = withIndex(
    JSON.stringify({
      ...index,
      requires_safety_checker: true,
      force_zeros_for_empty_prompt: false,
      _name_or_path: 'x',
      feature_extractor: ['transformers', 'CLIPImageProcessor'],
    }),
  );
  rmSync(join(dir, 'scheduler'), { recursive: true });
  checkSdLayout(dir, 'tiny');
});

test('loading checks model_index.json whatever scheduler is asked for', async () => {
  const dir = withIndex(JSON.stringify({ ...index, unet: ['diffusers'] }));
  await assert.rejects(
    loadStableDiffusion(dir),
    (error: unknown) => error instanceof PmgError && error.code === 'model-layout' && /"unet"/.test(error.message),
  );
});
