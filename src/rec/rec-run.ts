/**
 * A `pmg eval` run made from a rec plan (`pmg eval --dataset samples --data PLAN_DIR ...`), read for `pmg rec`: its
 * config and finished rows (experiments/run-store.ts), and the plan it was made from — which must be the plan of the
 * rows being scored (the same row hash), or the images belong to other (user, item) pairs.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseJson } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';
import type { EvalConfig } from '../experiments/run-config.js';
import { RunStore, type ResultRow } from '../experiments/run-store.js';
import { PLAN_FILE, recRowsHash, type RecPlan } from './rec-plan.js';
import type { RecDataset, RecSelection } from './rec-types.js';

export interface RecRun {
  dir: string;
  config: EvalConfig;
  rows: ResultRow[];
  /** The plan folder the run read its samples from. */
  planDir: string;
  plan: RecPlan;
}

/** Open the run in `runDir` and its plan; refuse a run of another dataset or of another plan than `dataset`'s rows. */
export function readRecRun(runDir: string, dataset: RecDataset): RecRun {
  const dir = resolve(runDir);
  const store = RunStore.openExisting(dir);
  let config: EvalConfig;
  let rows: ResultRow[];
  try {
    config = store.config;
    rows = store.results();
  } finally {
    store.close();
  }
  if (config.dataset !== 'samples')
    throw new PmgError(
      'invalid-argument',
      `features: ${dir} is an eval run of the ${config.dataset} dataset, not of a rec plan; make one with 'pmg rec plan ... --out PLAN' and 'pmg eval --dataset samples --data PLAN ... --out RUN'`,
      { details: { field: 'features' } },
    );
  const planDir = existsSync(config.data) && statSync(config.data).isDirectory() ? config.data : dirname(config.data);
  const planFile = join(planDir, PLAN_FILE);
  if (!existsSync(planFile))
    throw new PmgError(
      'file-not-found',
      `features: the run ${dir} read its samples from ${config.data}, which has no ${PLAN_FILE} (not a rec plan, or moved)`,
      {
        details: { field: 'features' },
      },
    );
  const plan = parseJson(readFileSync(planFile, 'utf8'), planFile) as RecPlan;
  const hash = recRowsHash(dataset.rows);
  if (plan.rowsHash !== hash)
    throw new PmgError(
      'invalid-argument',
      `features: the run ${dir} was made from the plan ${planDir} (${describeSelection(plan.selection)}), whose rows differ from this selection's (${describeSelection(dataset.selection)}); use the plan's flags, or plan and generate again`,
      { details: { field: 'features', planHash: plan.rowsHash, rowsHash: hash } },
    );
  return { dir, config, rows, planDir, plan };
}

function describeSelection(s: RecSelection): string {
  return `users ${s.users ?? 'all'}, items ${s.items ?? 'all'}, negatives ${s.negatives}, seed ${s.seed}`;
}

/** The eval command that (re)makes the run's missing images: its own settings, a --limit covering every row. */
export function evalCommandLine(run: RecRun, rows: number): string {
  const c = run.config;
  const parts = ['pmg eval --dataset samples', `--data ${c.data}`, `--methods ${c.methods.join(',')}`];
  if (c.methods.includes('pmg')) parts.push(`--alpha ${c.alphas.join(',')}`);
  parts.push(`--metrics ${c.metrics.join(',')}`, `--limit ${rows}`);
  if (c.models.models) parts.push(`--models ${c.models.models}`);
  if (c.models.metricsModels) parts.push(`--metrics-models ${c.models.metricsModels}`);
  if (c.steps !== undefined) parts.push(`--steps ${c.steps}`);
  if (c.size !== undefined) parts.push(`--size ${c.size}`);
  parts.push(`--seed ${c.seed}`, `--out ${run.dir}`);
  return parts.join(' ');
}
