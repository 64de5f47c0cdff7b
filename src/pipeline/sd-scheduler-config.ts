/**
 * The scheduler a Stable Diffusion pipeline runs with, as diffusers builds it: the model's scheduler_config.json
 * (or another scheduler given by name, which keeps the config's shared keys, as `from_config` does), with the
 * two fix-ups diffusers' StableDiffusionPipeline and OnnxStableDiffusionPipeline apply when they are built, each
 * with a deprecation warning: `steps_offset` other than 1 becomes 1, and `clip_sample: true` becomes false.
 * pmg applies them to every scheduler it builds for a Stable Diffusion model, the one diffusers would pass in
 * with `from_pretrained(..., scheduler=...)` included, and says so in one warning line each.
 */
import { createScheduler, schedulerFromConfigFile } from '../schedulers/index.js';
import type { Scheduler, SchedulerName } from '../spec/scheduler.js';

export interface SdScheduler {
  name: SchedulerName;
  /** The resolved config: defaults filled, fix-ups applied. */
  config: Record<string, unknown>;
  /** A fresh scheduler of this config (they hold per-generation state). */
  create: () => Scheduler;
}

/**
 * `configOverrides` replace keys of the model's config before it is read (a preset's `timestep_spacing`, e.g. SD-Turbo's
 * one-step sampling must start at the last training timestep, which only the `trailing` spacing does).
 */
export function sdPipelineScheduler(
  schedulerConfig: Readonly<Record<string, unknown>>,
  override?: SchedulerName | string,
  warn?: (message: string) => void,
  configOverrides: Readonly<Record<string, unknown>> = {},
): SdScheduler {
  const first = schedulerFromConfigFile({ ...schedulerConfig, ...configOverrides }, override, warn);
  const config: Record<string, unknown> = { ...first.config };
  const className = String(config['_class_name']);
  if (config['steps_offset'] !== undefined && config['steps_offset'] !== 1) {
    warn?.(
      `scheduler config of ${className} has steps_offset ${String(config['steps_offset'])}; Stable Diffusion pipelines use 1 (diffusers changes it to 1 too, with a deprecation warning)`,
    );
    config['steps_offset'] = 1;
  }
  if (config['clip_sample'] === true) {
    warn?.(
      `scheduler config of ${className} has clip_sample true; Stable Diffusion pipelines use false (diffusers changes it to false too, with a deprecation warning)`,
    );
    config['clip_sample'] = false;
  }
  const name = first.name;
  return { name, config, create: () => createScheduler(name, config) };
}
