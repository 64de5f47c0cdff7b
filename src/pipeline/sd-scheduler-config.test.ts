/**
 * The Stable Diffusion pipeline's scheduler fix-ups, as diffusers' StableDiffusionPipeline / OnnxStableDiffusionPipeline
 * __init__ applies them: steps_offset != 1 becomes 1, clip_sample true becomes false, each with a warning.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sdPipelineScheduler } from './sd-scheduler-config.js';

const SD_BETAS = { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 1000 };

function build(config: Record<string, unknown>, override?: string) {
  const warnings: string[] = [];
  const scheduler = sdPipelineScheduler(config, override, (m) => warnings.push(m));
  return { scheduler, warnings };
}

describe('Stable Diffusion pipeline scheduler fix-ups', () => {
  it('an outdated DDIM config (steps_offset 0, clip_sample true: the class defaults) gets 1 and false, with two warnings', () => {
    const { scheduler, warnings } = build({ _class_name: 'DDIMScheduler', ...SD_BETAS });
    assert.equal(scheduler.config['steps_offset'], 1);
    assert.equal(scheduler.config['clip_sample'], false);
    assert.deepEqual(warnings, [
      'scheduler config of DDIMScheduler has steps_offset 0; Stable Diffusion pipelines use 1 (diffusers changes it to 1 too, with a deprecation warning)',
      'scheduler config of DDIMScheduler has clip_sample true; Stable Diffusion pipelines use false (diffusers changes it to false too, with a deprecation warning)',
    ]);
    // diffusers' DDIM with steps_offset 1, 'leading', 50 steps: 981, 961, ..., 1.
    const s = scheduler.create();
    s.setTimesteps(50);
    assert.equal(s.timesteps[0], 981);
    assert.equal(s.timesteps.at(-1), 1);
    assert.equal(s.config['clip_sample'], false, 'the schedulers it creates have the fixed config');
  });

  it('the SD 1.5 config needs no fix-up: no warning, its own values', () => {
    const sd15 = {
      _class_name: 'PNDMScheduler',
      ...SD_BETAS,
      set_alpha_to_one: false,
      skip_prk_steps: true,
      steps_offset: 1,
      trained_betas: null,
      clip_sample: false,
    };
    const { scheduler, warnings } = build(sd15);
    assert.deepEqual(warnings, []);
    assert.equal(scheduler.name, 'pndm');
    assert.equal(scheduler.config['steps_offset'], 1);
    assert.equal(scheduler.config['skip_prk_steps'], true);
  });

  it('a scheduler given by name is fixed up too (as when it is passed to the pipeline)', () => {
    const euler = { _class_name: 'EulerDiscreteScheduler', ...SD_BETAS, steps_offset: 1 };
    const { scheduler, warnings } = build(euler, 'ddpm');
    assert.equal(scheduler.name, 'ddpm');
    assert.equal(scheduler.config['clip_sample'], false);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^scheduler config of DDPMScheduler has clip_sample true/);
  });

  it('schedulers without clip_sample (Euler) only get steps_offset', () => {
    const { scheduler, warnings } = build({ _class_name: 'EulerDiscreteScheduler', ...SD_BETAS, steps_offset: 0 });
    assert.equal(scheduler.config['steps_offset'], 1);
    assert.equal('clip_sample' in scheduler.config, false);
    assert.equal(warnings.length, 1);
  });
});
