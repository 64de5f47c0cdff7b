/**
 * Scheduler factory: by pmg name (`--scheduler`) or from a diffusers scheduler_config.json (`_class_name`).
 * Make a new scheduler per generation: they hold state.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { Scheduler, SchedulerName } from '../spec/scheduler.js';
import { parseSchedulerConfig, type ConfigSchema, type ConfigValue } from './config.js';
export { parseSchedulerConfigText, schedulerConfigToText } from './config.js';
import { DdimScheduler, ddimSchema } from './ddim.js';
import { DdpmScheduler, ddpmSchema } from './ddpm.js';
import { DpmSolverMultistepScheduler, dpmSolverSchema } from './dpm-solver-multistep.js';
import { EulerAncestralScheduler, eulerAncestralSchema } from './euler-ancestral.js';
import { EulerScheduler, eulerSchema } from './euler.js';
import { LcmScheduler, lcmSchema } from './lcm.js';
import { PndmScheduler, pndmSchema } from './pndm.js';

interface SchedulerEntry {
  schema: ConfigSchema;
  create: (config: Record<string, ConfigValue>) => Scheduler;
}

const registry: Record<SchedulerName, SchedulerEntry | undefined> = {
  ddim: { schema: ddimSchema, create: (c) => new DdimScheduler(c) },
  ddpm: { schema: ddpmSchema, create: (c) => new DdpmScheduler(c) },
  pndm: { schema: pndmSchema, create: (c) => new PndmScheduler(c) },
  euler: { schema: eulerSchema, create: (c) => new EulerScheduler(c) },
  'euler-ancestral': { schema: eulerAncestralSchema, create: (c) => new EulerAncestralScheduler(c) },
  'dpm-solver++': { schema: dpmSolverSchema, create: (c) => new DpmSolverMultistepScheduler(c) },
  lcm: { schema: lcmSchema, create: (c) => new LcmScheduler(c) },
};

/** The scheduler names pmg knows, in the order error messages list them. */
export const schedulerNames: readonly SchedulerName[] = (Object.keys(registry) as SchedulerName[]).filter((n) => registry[n] !== undefined);

/** Other spellings accepted for names: diffusers class names and common short forms. */
const aliases: Record<string, SchedulerName> = {
  'euler-a': 'euler-ancestral',
  euler_a: 'euler-ancestral',
  euler_ancestral: 'euler-ancestral',
  'dpm++': 'dpm-solver++',
  'dpmsolver++': 'dpm-solver++',
  'dpm-solver': 'dpm-solver++',
  dpmsolver: 'dpm-solver++',
  'dpm++2m': 'dpm-solver++',
  plms: 'pndm',
};

function allCompatibleKeys(): Set<string> {
  const keys = new Set<string>();
  for (const name of schedulerNames) for (const key of Object.keys(registry[name]!.schema.defaults)) keys.add(key);
  return keys;
}

/** Resolve a user-given name (pmg name, alias or diffusers class name) to a SchedulerName. */
export function resolveSchedulerName(name: string): SchedulerName {
  const lower = name.trim().toLowerCase();
  if ((schedulerNames as readonly string[]).includes(lower)) return lower as SchedulerName;
  const alias = aliases[lower];
  if (alias && registry[alias]) return alias;
  for (const n of schedulerNames) if (registry[n]!.schema.className.toLowerCase() === lower) return n;
  throw new PmgError('invalid-argument', `unknown scheduler '${name}'; known: ${schedulerNames.join(', ')}`, {
    details: { field: 'scheduler', value: name, known: [...schedulerNames] },
  });
}

/**
 * A scheduler by name, configured from `config` (a scheduler_config.json object or part of one; defaults from
 * diffusers fill the rest). Keys no scheduler knows go to `warn`.
 */
export function createScheduler(name: SchedulerName | string, config: Record<string, unknown> = {}, warn?: (msg: string) => void): Scheduler {
  const resolved = resolveSchedulerName(name);
  const entry = registry[resolved]!;
  const parsed = parseSchedulerConfig(entry.schema, config, { warn, compatibleKeys: allCompatibleKeys() });
  return entry.create(parsed);
}

/**
 * A scheduler from a scheduler_config.json object: its `_class_name` picks the algorithm unless `override`
 * names another (then the config's shared keys — betas, prediction type, spacing, offset — carry over, as
 * diffusers' `from_config` does).
 */
export function schedulerFromConfigFile(json: Record<string, unknown>, override?: SchedulerName | string, warn?: (msg: string) => void): Scheduler {
  if (override !== undefined) return createScheduler(override, json, warn);
  const className = json['_class_name'];
  if (typeof className !== 'string') {
    throw new PmgError(
      'invalid-input',
      `scheduler config has no '_class_name'; expected one of ${schedulerNames.map((n) => registry[n]!.schema.className).join(', ')}`,
    );
  }
  for (const n of schedulerNames) if (registry[n]!.schema.className === className) return createScheduler(n, json, warn);
  throw new PmgError(
    'invalid-input',
    `scheduler config '_class_name' ${JSON.stringify(className)} is not supported; known: ${schedulerNames.map((n) => registry[n]!.schema.className).join(', ')} (or pass a scheduler name: ${schedulerNames.join(', ')})`,
    { details: { field: '_class_name', value: className } },
  );
}

/** The diffusers class name for a scheduler name. */
export function schedulerClassName(name: SchedulerName): string {
  return registry[resolveSchedulerName(name)]!.schema.className;
}
