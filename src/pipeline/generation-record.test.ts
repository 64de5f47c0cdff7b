/**
 * The generation record and its A1111 `parameters` text. Expected strings follow AUTOMATIC1111's create_infotext
 * (modules/processing.py) and quote() (modules/infotext_utils.py); the parse-back uses A1111's own parsing rules
 * (parse_generation_parameters: the last line holds `key: value` pairs matched by re_param, a "Negative prompt:" line
 * starts the negative prompt).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createScheduler } from '../schedulers/index.js';
import {
  a1111Parameters,
  a1111Sampler,
  generationPngTexts,
  generationRecord,
  imageRecord,
  schedulerRecordOf,
  type GenerationRecord,
  type SchedulerRecord,
} from './generation-record.js';

const scheduler = {
  name: 'dpm-solver++' as const,
  className: 'DPMSolverMultistepScheduler',
  config: { _class_name: 'DPMSolverMultistepScheduler', solver_order: 2, use_karras_sigmas: false, steps_offset: 1 },
  timesteps: [999, 499],
};

const record = (fields: Partial<GenerationRecord> = {}): GenerationRecord =>
  generationRecord({
    model: 'onnx-community/stable-diffusion-v1-5-ONNX',
    prompt: 'movie poster, Alien',
    negativePrompt: 'broken text, unclear, twisted',
    steps: 30,
    guidanceScale: 9,
    width: 512,
    height: 768,
    scheduler,
    timings: { denoise: 12.5 },
    images: [imageRecord(0, 7), { ...imageRecord(1, 8), file: '/tmp/x-1.png' }],
    ...fields,
  });

/** A1111's parse_generation_parameters, reduced to what it needs here (re_param is A1111's regular expression). */
function parseA1111(text: string): Record<string, string> {
  const reParam = /\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/g;
  const lines = text.trim().split('\n');
  let last = lines.pop()!;
  if ([...last.matchAll(reParam)].length < 3) {
    lines.push(last);
    last = '';
  }
  const out: Record<string, string> = { Prompt: '', 'Negative prompt': '' };
  let negative = false;
  for (let line of lines) {
    line = line.trim();
    if (line.startsWith('Negative prompt:')) {
      negative = true;
      line = line.slice(16).trim();
    }
    const key = negative ? 'Negative prompt' : 'Prompt';
    out[key] = out[key] ? `${out[key]}\n${line}` : line;
  }
  for (const [, k, v] of last.matchAll(reParam)) out[k!] = v!.startsWith('"') && v!.endsWith('"') ? (JSON.parse(v!) as string) : v!;
  return out;
}

describe('A1111 parameters text', () => {
  it('is the prompt, the negative prompt line and the settings line, as A1111 writes them', () => {
    assert.equal(
      a1111Parameters(record()),
      'movie poster, Alien\nNegative prompt: broken text, unclear, twisted\nSteps: 30, Sampler: DPM++ 2M, CFG scale: 9, Seed: 7, Size: 512x768, Model: onnx-community/stable-diffusion-v1-5-ONNX',
    );
  });

  it('has no negative line without a negative prompt; quotes values with commas or colons; Karras and eta when set', () => {
    const karras = { ...scheduler, config: { ...scheduler.config, use_karras_sigmas: true } };
    const text = a1111Parameters(record({ negativePrompt: '', model: 'C:\\models\\sd, v1', scheduler: karras, eta: 0.5 }), imageRecord(1, 8));
    assert.equal(
      text,
      'movie poster, Alien\nSteps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 9, Seed: 8, Size: 512x768, Model: "C:\\\\models\\\\sd, v1", Eta: 0.5',
    );
  });

  it("reads back with A1111's parser", () => {
    const parsed = parseA1111(a1111Parameters(record({ prompt: 'a cat,\nsecond line', model: 'owner/name@abc:1' })));
    assert.equal(parsed['Prompt'], 'a cat,\nsecond line');
    assert.equal(parsed['Negative prompt'], 'broken text, unclear, twisted');
    assert.equal(parsed['Steps'], '30');
    assert.equal(parsed['Sampler'], 'DPM++ 2M');
    assert.equal(parsed['CFG scale'], '9');
    assert.equal(parsed['Seed'], '7');
    assert.equal(parsed['Size'], '512x768');
    assert.equal(parsed['Model'], 'owner/name@abc:1');
  });

  it('names the samplers as A1111 does', () => {
    const name = (n: GenerationRecord['scheduler']['name'], config: Record<string, unknown> = {}) => a1111Sampler({ name: n, config });
    assert.deepEqual(
      [
        name('ddim'),
        name('ddpm'),
        name('pndm', { skip_prk_steps: true }),
        name('pndm', { skip_prk_steps: false }),
        name('euler'),
        name('euler-ancestral'),
        name('dpm-solver++', { solver_order: 3 }),
        name('lcm'),
      ],
      ['DDIM', 'DDPM', 'PLMS', 'PNDM', 'Euler', 'Euler a', 'DPM++ 3M', 'LCM'],
    );
  });
});

describe('PNG texts of a record', () => {
  it('parameters for the image, and the record with that image only, without timings, file or batch position', () => {
    const texts = generationPngTexts(record(), 1);
    assert.deepEqual(
      texts.map((t) => t.keyword),
      ['parameters', 'pmg'],
    );
    assert.match(texts[0]!.text, /Seed: 8,/);
    const json = JSON.parse(texts[1]!.text) as GenerationRecord;
    assert.deepEqual(json.images, [{ seed: 8 }]);
    assert.equal(json.timings, undefined);
    assert.match(json.generator, /^pmg \d+\.\d+\.\d+/);
    assert.deepEqual(json.scheduler, scheduler);
  });

  it('records a latents file instead of relying on the seed', () => {
    const source = { file: '/data/start.npy', sha256: 'ab'.repeat(32) };
    const shared = imageRecord(2, 5, { dims: [1, 4, 8, 8] }, source);
    assert.deepEqual(shared, { index: 2, seed: 5, latents: { ...source, row: 0 } });
    assert.deepEqual(imageRecord(2, 5, { dims: [3, 4, 8, 8] }, source).latents?.row, 2);
    const json = JSON.parse(generationPngTexts(record({ images: [shared] }))[1]!.text) as GenerationRecord;
    assert.deepEqual(json.images, [{ seed: 5, latents: { ...source, row: 0 } }]);
  });
});

describe('scheduler record', () => {
  it("holds the resolved config as JSON can (DPM-Solver's -inf lambda_min_clipped as a string the config parser reads back)", () => {
    const dpm = createScheduler('dpm-solver++', { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 });
    dpm.setTimesteps(3);
    const rec = schedulerRecordOf(dpm, dpm.timesteps);
    assert.equal(rec.config['lambda_min_clipped'], '-Infinity');
    const back = JSON.parse(JSON.stringify(rec)) as SchedulerRecord;
    assert.deepEqual(back, rec);
    const again = createScheduler(back.name, { ...back.config });
    assert.equal(again.config['lambda_min_clipped'], -Infinity);
    assert.deepEqual(rec.timesteps, [999, 666, 333]);
    assert.equal(rec.className, 'DPMSolverMultistepScheduler');
  });
});
