/** Scheduler configuration: defaults, unknown keys, bad values, names, round-trips, SD 1.5 / SD 2.1 configs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { SeededRandom } from '../core/random.js';
import { createScheduler, parseSchedulerConfigText, resolveSchedulerName, schedulerConfigToText, schedulerFromConfigFile, schedulerNames } from './index.js';

/** stable-diffusion-v1-5/scheduler/scheduler_config.json */
const SD15 = {
  _class_name: 'PNDMScheduler',
  _diffusers_version: '0.6.0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
  clip_sample: false,
};

/** stable-diffusion-2-1/scheduler/scheduler_config.json */
const SD21 = {
  _class_name: 'DDIMScheduler',
  _diffusers_version: '0.8.0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  clip_sample: false,
  num_train_timesteps: 1000,
  prediction_type: 'v_prediction',
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
};

function pmgError(code: string, pattern: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof PmgError && e.code === code && pattern.test(e.message);
}

describe('scheduler names', () => {
  it('knows all seven algorithms', () => {
    assert.deepEqual([...schedulerNames], ['ddim', 'ddpm', 'pndm', 'euler', 'euler-ancestral', 'dpm-solver++', 'lcm']);
  });

  it('rejects an unknown name and lists the known ones', () => {
    assert.throws(
      () => createScheduler('heun'),
      pmgError('invalid-argument', /^unknown scheduler 'heun'; known: ddim, ddpm, pndm, euler, euler-ancestral, dpm-solver\+\+, lcm$/),
    );
  });

  it('accepts aliases and diffusers class names', () => {
    assert.equal(resolveSchedulerName('EulerAncestralDiscreteScheduler'), 'euler-ancestral');
    assert.equal(resolveSchedulerName('euler_a'), 'euler-ancestral');
    assert.equal(resolveSchedulerName('DPM++2M'), 'dpm-solver++');
    assert.equal(createScheduler('DDIMScheduler').name, 'ddim');
  });
});

describe('scheduler config', () => {
  it("fills diffusers' defaults per class", () => {
    const ddim = createScheduler('ddim').config;
    assert.equal(ddim['_class_name'], 'DDIMScheduler');
    assert.equal(ddim['clip_sample'], true);
    assert.equal(ddim['set_alpha_to_one'], true);
    assert.equal(ddim['timestep_spacing'], 'leading');
    const euler = createScheduler('euler').config;
    assert.equal(euler['timestep_spacing'], 'linspace');
    assert.equal(euler['use_karras_sigmas'], false);
    const dpm = createScheduler('dpm-solver++').config;
    assert.equal(dpm['solver_order'], 2);
    assert.equal(dpm['lower_order_final'], true);
    assert.equal(dpm['lambda_min_clipped'], -Infinity);
    const lcm = createScheduler('lcm').config;
    assert.equal(lcm['beta_schedule'], 'scaled_linear');
    assert.equal(lcm['original_inference_steps'], 50);
  });

  it('warns about keys no scheduler knows, and quietly drops keys of other schedulers', () => {
    const warnings: string[] = [];
    const s = createScheduler('ddim', { skip_prk_steps: true, use_karras_sigmas: false, frobnicate: 3 }, (m) => warnings.push(m));
    assert.deepEqual(warnings, ["scheduler config: ignoring unknown key 'frobnicate' for DDIMScheduler"]);
    assert.equal('frobnicate' in s.config, false);
    assert.equal('skip_prk_steps' in s.config, false);
  });

  it('rejects wrong values with a message naming the key', () => {
    assert.throws(
      () => createScheduler('ddim', { beta_schedule: 'cubic' }),
      pmgError('invalid-input', /'beta_schedule'.*one of 'linear', 'scaled_linear', 'squaredcos_cap_v2'/),
    );
    assert.throws(() => createScheduler('euler', { prediction_type: 5 }), pmgError('invalid-input', /'prediction_type'/));
    assert.throws(() => createScheduler('ddpm', { num_train_timesteps: 10.5 }), pmgError('invalid-input', /'num_train_timesteps'.*positive integer/));
    assert.throws(() => createScheduler('ddim', { clip_sample: 'no' }), pmgError('invalid-input', /'clip_sample'.*true or false/));
    assert.throws(() => createScheduler('pndm', { prediction_type: 'sample' }), pmgError('invalid-input', /'prediction_type'/));
    assert.throws(() => createScheduler('ddim', { trained_betas: [0.1, 0.2] }), pmgError('invalid-input', /trained_betas/));
  });

  it('refuses valid diffusers options it does not implement', () => {
    assert.throws(() => createScheduler('dpm-solver++', { algorithm_type: 'sde-dpmsolver++' }), pmgError('unsupported', /algorithm_type/));
    assert.throws(() => createScheduler('euler', { use_exponential_sigmas: true }), pmgError('unsupported', /use_exponential_sigmas/));
    assert.throws(() => createScheduler('ddpm', { variance_type: 'learned_range' }), pmgError('unsupported', /variance_type/));
  });

  it('round-trips through scheduler_config.json text for every scheduler', () => {
    for (const name of schedulerNames) {
      const first = createScheduler(name, { beta_schedule: 'scaled_linear', prediction_type: 'v_prediction', steps_offset: 1 });
      const text = schedulerConfigToText(first.config);
      const again = schedulerFromConfigFile(parseSchedulerConfigText(text));
      assert.equal(again.name, name);
      assert.deepEqual(again.config, first.config);
    }
    assert.match(schedulerConfigToText(createScheduler('dpm-solver++').config), /"lambda_min_clipped": -Infinity/);
  });

  it('reads Python-written JSON with bare -Infinity and rejects broken text', () => {
    const raw = parseSchedulerConfigText('{"_class_name": "DPMSolverMultistepScheduler", "lambda_min_clipped": -Infinity, "solver_order": 2}');
    assert.equal(schedulerFromConfigFile(raw).config['lambda_min_clipped'], -Infinity);
    assert.throws(() => parseSchedulerConfigText('{"a": '), pmgError('invalid-input', /scheduler_config.json is not valid JSON/));
    assert.throws(() => parseSchedulerConfigText('[1]'), pmgError('invalid-input', /JSON object/));
  });

  it('rejects a config file without or with an unknown _class_name', () => {
    assert.throws(() => schedulerFromConfigFile({}), pmgError('invalid-input', /no '_class_name'/));
    assert.throws(() => schedulerFromConfigFile({ _class_name: 'HeunDiscreteScheduler' }), pmgError('invalid-input', /HeunDiscreteScheduler.*DDIMScheduler/));
  });
});

describe('Stable Diffusion scheduler configs', () => {
  it('SD 1.5: PNDM/PLMS with the doubled first timestep', () => {
    const warnings: string[] = [];
    const s = schedulerFromConfigFile(SD15, undefined, (m) => warnings.push(m));
    assert.deepEqual(warnings, []);
    assert.equal(s.name, 'pndm');
    assert.equal(s.config['skip_prk_steps'], true);
    s.setTimesteps(50);
    assert.equal(s.timesteps.length, 51);
    assert.deepEqual(s.timesteps.slice(0, 5), [981, 961, 961, 941, 921]);
    assert.equal(s.timesteps.at(-1), 1);
    assert.equal(s.initNoiseSigma, 1);
  });

  it('SD 2.1: DDIM with v-prediction, and switched to Euler or DPM-Solver++ keeping its betas', () => {
    const ddim = schedulerFromConfigFile(SD21);
    assert.equal(ddim.name, 'ddim');
    assert.equal(ddim.config['prediction_type'], 'v_prediction');
    ddim.setTimesteps(30);
    assert.deepEqual(ddim.timesteps.slice(0, 3), [958, 925, 892]);
    for (const override of ['euler', 'dpm-solver++', 'euler-ancestral'] as const) {
      const warnings: string[] = [];
      const s = schedulerFromConfigFile(SD21, override, (m) => warnings.push(m));
      assert.deepEqual(warnings, [], `${override}: keys of other schedulers are not warned about`);
      assert.equal(s.name, override);
      assert.equal(s.config['prediction_type'], 'v_prediction');
      assert.equal(s.config['beta_schedule'], 'scaled_linear');
      assert.equal(s.config['steps_offset'], 1);
    }
  });
});

describe('scheduler misuse', () => {
  it('rejects step counts of 0, fractions and more than num_train_timesteps', () => {
    for (const n of [0, 2.5, 1001])
      assert.throws(() => createScheduler('ddim').setTimesteps(n), pmgError('invalid-argument', /steps must be an integer from 1 to 1000/));
    assert.throws(() => createScheduler('lcm').setTimesteps(60), pmgError('invalid-argument', /original_inference_steps/));
  });

  it('asks for setTimesteps before step, and for a noise source in stochastic schedulers', () => {
    const x = { data: new Float32Array(4), dims: [1, 1, 2, 2] };
    assert.throws(() => createScheduler('ddim').step(x, 1, x), pmgError('invalid-argument', /setTimesteps/));
    for (const name of ['ddpm', 'euler-ancestral', 'lcm']) {
      const s = createScheduler(name);
      s.setTimesteps(4);
      assert.throws(() => s.step(x, s.timesteps[0]!, x), pmgError('invalid-argument', /noise source/), name);
      assert.doesNotThrow(() => s.step(x, s.timesteps[0]!, x, new SeededRandom(1)));
    }
  });

  it('rejects mismatched shapes', () => {
    const s = createScheduler('euler');
    s.setTimesteps(4);
    const a = { data: new Float32Array(4), dims: [1, 1, 2, 2] };
    const b = { data: new Float32Array(8), dims: [2, 1, 2, 2] };
    assert.throws(() => s.step(a, s.timesteps[0]!, b), pmgError('invalid-argument', /same shape/));
  });
});
