/**
 * `pmg rec plan`: the (user, item) rows of a recommendation experiment that need a generated image — every scored row,
 * negatives and ranking items included (the leakage rule, docs/rec.md) — as eval samples (PLAN_DIR/samples.jsonl)
 * plus PLAN_DIR/plan.json (selection, counts, a hash of the rows). Prints the commands that make the images and
 * use them.
 */
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { PmgError } from '../../errors/pmg-error.js';
import { PLAN_HISTORY, recPlan, recPlanSamples, writeRecPlan } from '../../rec/rec-plan.js';
import { intOption } from '../option-values.js';
import { checkOutputFolder } from '../output-paths.js';
import { stringOption, type Command } from '../command.js';
import { describeRecData, recDataFromFlags, recSelectionOptions, selectionFlags } from '../rec-options.js';

export const recPlanCommand: Command = {
  name: 'rec plan',
  summary: 'list the (user, item) rows of a recommendation experiment that need generated images, as eval samples',
  usage: '--dataset movielens --data DIR [--users N] [--items M] [--negatives N] [--seed S] [--history N] --out PLAN_DIR',
  options: {
    ...recSelectionOptions,
    history: {
      type: 'string',
      value: 'N',
      description: "most history items per sample (the LLM's prompt grows with it; tiny fixture LLMs need 2 or 3)",
      default: String(PLAN_HISTORY),
    },
    out: { type: 'string', short: 'o', value: 'DIR', description: 'plan folder: plan.json and samples.jsonl (one eval sample per row)' },
  },
  details: [
    'Every scored row gets a sample (id rec-u<user>-i<item>): positives, negatives and the sampled ranking items alike, so an image',
    "never tells the label. History: the user's positives before the row's time (last 5); ranking rows: the user's train positives.",
    'Then make the images with pmg eval (in process, or --queue with pmg worker processes), and run pmg rec with the same selection flags:',
    '  pmg rec plan --dataset movielens --data ml-latest-small --users 30 --items 150 --negatives 20 --out plan',
    '  pmg eval --dataset samples --data plan --methods pmg,target-only --metrics clip-t --limit <rows> --models fast --out run',
    '  pmg rec --dataset movielens --data ml-latest-small --users 30 --items 150 --negatives 20 --features run --out rec-report',
    'See docs/rec.md.',
  ].join('\n'),
  async run(context) {
    const outText = stringOption(context, 'out');
    if (outText === undefined) throw new PmgError('invalid-argument', 'missing --out PLAN_DIR (the plan folder)', { details: { field: 'out' } });
    const out = resolve(context.io.cwd, outText);
    checkOutputFolder(out, '--out');
    const history = intOption(context, 'history', { min: 1, max: 50, fallback: PLAN_HISTORY });
    const { data, rec } = await recDataFromFlags(context);
    if (rec.dataset.rows.length === 0)
      throw new PmgError('invalid-argument', `the selection has no rows (${describeRecData(rec)}); select more users or items`);
    const samples = recPlanSamples(data, rec.dataset, history);
    const plan = recPlan(data, rec.dataset, rec.stats, samples.length, history);
    const existed = existsSync(out);
    let files;
    try {
      files = writeRecPlan(out, plan, samples);
    } catch (error) {
      if (!existed) rmSync(out, { recursive: true, force: true });
      throw error;
    }
    const dataText = stringOption(context, 'data')!;
    const flags = selectionFlags(rec.dataset.selection);
    const { stdout } = context.io;
    stdout.write(`plan: ${describeRecData(rec)}\n`);
    stdout.write(`${samples.length} samples, one per row (every scored row needs an image): ${files.samples}\nplan: ${files.plan}\n`);
    stdout.write('next: make the images (add --queue redis://HOST:PORT to run them on pmg worker processes), then the experiment:\n');
    stdout.write(
      `  pmg eval --dataset samples --data ${outText} --methods pmg,target-only --metrics clip-t --limit ${samples.length} --models DIR|PRESET --out RUN\n`,
    );
    stdout.write(`  pmg rec --dataset movielens --data ${dataText}${flags ? ` ${flags}` : ''} --features RUN --out REPORT_DIR\n`);
    return 0;
  },
};
