/**
 * `pmg rec`: do generated images help a recommender? (issue 15, the paper's "auxiliary generation" experiment.)
 * A factorization machine on user id, item id and genres ('none'), then the same model with the generated-image
 * features of an eval run of the rows' plan ('pmg', 'target-only') and with random vectors of the same width
 * ('random', the control a gain must beat); metrics with paired-bootstrap intervals; report.md/html/json.
 * Everything cheap (flags, data, the run and its plan, every row's image) is checked before CLIP loads; the report
 * is written all or nothing at the end.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PmgError } from '../../errors/pmg-error.js';
import { METRICS } from '../../metrics/registry.js';
import { CLIP_FILES } from '../../providers/model-set.js';
import { DEFAULT_PCA_COMPONENTS, generatedFeatures, type GeneratedFeatures, type GeneratedMethod } from '../../rec/generated-features.js';
import { randomFeatures } from '../../rec/random-features.js';
import { DEFAULT_REC_OPTIONS, type RecReport } from '../../rec/rec-experiment.js';
import { runRecExperiment } from '../../rec/rec-experiment.js';
import { deltaText, writeRecReport } from '../../rec/rec-report.js';
import { readRecRun, type RecRun } from '../../rec/rec-run.js';
import type { FeatureSet } from '../../rec/rec-types.js';
import { loadClip } from '../../runtime/transformers-models.js';
import { checkOutputFolder } from '../output-paths.js';
import { stringOption, type Command, type CommandContext } from '../command.js';
import { numberOption, intOption } from '../option-values.js';
import { describeRecData, recDataFromFlags, recSelectionOptions } from '../rec-options.js';
import { modelStoreForCommand } from '../store-from-context.js';

const GENERATED: readonly GeneratedMethod[] = ['pmg', 'target-only'];

export const recCommand: Command = {
  name: 'rec',
  summary: 'do generated images help a recommender? FM with none / pmg / target-only / random features, bootstrap intervals, report',
  usage:
    '--dataset movielens --data DIR --features RUN_DIR|none [--users N] [--items M] [--negatives N] [--seed S] [--pca K] [--alpha A] [--clip DIR|ID] [--epochs N] [--factors N] [--k N] [--bootstrap N] [--replicates N] --out DIR',
  options: {
    ...recSelectionOptions,
    features: {
      type: 'string',
      value: 'RUN_DIR|none',
      description: "an eval run of this selection's 'pmg rec plan' (pmg and target-only images of every row), or none (ids + genres only)",
    },
    pca: { type: 'string', value: 'K', description: `PCA components of the CLIP image embedding, fitted on train rows (default: ${DEFAULT_PCA_COMPONENTS})` },
    alpha: { type: 'string', value: 'A', description: "α of the run's pmg rows whose images are used (default: the run's first)" },
    clip: {
      type: 'string',
      value: 'DIR|ID',
      description: `CLIP that embeds the images (default: the run's <models>/clip when there is one, else ${METRICS['clip-i'].defaultModel} from the model store)`,
    },
    epochs: { type: 'string', value: 'N', description: 'most training epochs (early stopping on the val rows)', default: String(DEFAULT_REC_OPTIONS.epochs) },
    factors: { type: 'string', value: 'N', description: 'factorization machine factors', default: String(DEFAULT_REC_OPTIONS.factors) },
    k: { type: 'string', value: 'N', description: 'ranking cutoff of Recall@K and NDCG@K', default: String(DEFAULT_REC_OPTIONS.k) },
    bootstrap: {
      type: 'string',
      value: 'N',
      description: "paired bootstrap resamples (over users, and over each set's training runs)",
      default: String(DEFAULT_REC_OPTIONS.bootstrap),
    },
    replicates: {
      type: 'string',
      value: 'N',
      description: 'training runs per feature set (seeds S..S+N-1): metrics are their mean, so training noise cannot pass for a gain',
      default: String(DEFAULT_REC_OPTIONS.replicates),
    },
    out: { type: 'string', short: 'o', value: 'DIR', description: 'report folder: report.md, report.html, report.json' },
  },
  details: [
    'Rows: the ratings of the selected users on the selected items, label = rating >= 4, split per user by time (last 20% test, 10%',
    'before them val); each test user with a liked test item also gets --negatives unrated items for Recall@K/NDCG@K.',
    "Feature sets: none (user id, item id, genres); with --features: pmg and target-only (each row's generated image: CLIP embedding,",
    "PCA fitted on train rows, d_p, d_t) and random (Gaussian vectors of pmg's width: the control a gain must beat).",
    'Every scored row needs an image (negatives too: an image only for liked rows would leak the label); missing ones are an error.',
    '  pmg rec --dataset movielens --data ml-latest-small --features none --out rec-none',
    '  pmg rec plan --dataset movielens --data ml-latest-small --users 30 --items 150 --negatives 20 --out plan',
    '  pmg eval --dataset samples --data plan --methods pmg,target-only --metrics clip-t --limit 2000 --models fast --out run',
    '  pmg rec --dataset movielens --data ml-latest-small --users 30 --items 150 --negatives 20 --features run --out rec-report',
    'See docs/rec.md.',
  ].join('\n'),
  async run(context) {
    const { io } = context;
    // 1. Flags and data, before anything loads.
    const outText = stringOption(context, 'out');
    if (outText === undefined) throw new PmgError('invalid-argument', 'missing --out DIR (the report folder)', { details: { field: 'out' } });
    const out = resolve(io.cwd, outText);
    checkOutputFolder(out, '--out');
    const featuresText = stringOption(context, 'features');
    if (featuresText === undefined)
      throw new PmgError('invalid-argument', "missing --features RUN_DIR|none (an eval run of this selection's 'pmg rec plan', or none)", {
        details: { field: 'features' },
      });
    const pca = intOption(context, 'pca', { min: 1, max: 1024, fallback: DEFAULT_PCA_COMPONENTS });
    const alpha = numberOption(context, 'alpha');
    const options = {
      ...DEFAULT_REC_OPTIONS,
      epochs: intOption(context, 'epochs', { min: 1, max: 10_000, fallback: DEFAULT_REC_OPTIONS.epochs }),
      factors: intOption(context, 'factors', { min: 1, max: 1024, fallback: DEFAULT_REC_OPTIONS.factors }),
      k: intOption(context, 'k', { min: 1, max: 10_000, fallback: DEFAULT_REC_OPTIONS.k }),
      bootstrap: intOption(context, 'bootstrap', { min: 1, max: 1_000_000, fallback: DEFAULT_REC_OPTIONS.bootstrap }),
      replicates: intOption(context, 'replicates', { min: 1, max: 100, fallback: DEFAULT_REC_OPTIONS.replicates }),
    };
    const none = featuresText === 'none';
    for (const flag of ['pca', 'alpha', 'clip'])
      if (none && stringOption(context, flag) !== undefined)
        throw new PmgError('invalid-argument', `--${flag} applies to generated features; leave it out with --features none`, { details: { field: flag } });
    const { rec } = await recDataFromFlags(context);
    const { dataset } = rec;
    options.seed = dataset.selection.seed;
    const progress = (line: string) => void io.stderr.write(`${line}\n`);
    progress(`rec: ${describeRecData(rec)}`);
    if (dataset.rows.length === 0) throw new PmgError('invalid-argument', 'the selection has no rows; select more users or items');

    // 2. Feature sets: the run and its plan are checked (and every row's image found) before CLIP loads.
    const sets: FeatureSet[] = [{ name: 'none', description: 'user id, item id and genres (the baseline)' }];
    if (!none) {
      const run = readRecRun(resolve(io.cwd, featuresText), dataset);
      const methods = GENERATED.filter((m) => run.config.methods.includes(m));
      if (methods.length === 0)
        throw new PmgError('invalid-argument', `features: the run ${run.dir} has neither pmg nor target-only rows; make it with --methods pmg,target-only`, {
          details: { field: 'features' },
        });
      const clip = await loadClip(await clipFolder(context, run));
      if (pca > clip.projectionDim)
        throw new PmgError(
          'invalid-argument',
          `--pca ${pca} is more than the ${clip.projectionDim} dimensions of the CLIP in ${clip.dir}; use at most ${clip.projectionDim}`,
          {
            details: { field: 'pca' },
          },
        );
      const generated: GeneratedFeatures[] = [];
      for (const method of methods)
        generated.push(await generatedFeatures(dataset, run, method, clip, { pca, ...(alpha !== undefined ? { alpha } : {}), onProgress: progress }));
      const absent = GENERATED.filter((m) => !methods.includes(m));
      const note = absent.length ? ` The run ${run.dir} has no ${absent.join(' or ')} rows, so the report has no such row.` : '';
      for (const g of generated) sets.push({ name: g.method, description: generatedDescription(g, pca) + note, dense: g });
      const reference = generated[0]!;
      sets.push({
        name: 'random',
        description: `the control: seeded Gaussian vectors of ${reference.method}'s width (${reference.width}), one fixed vector per (user, item) row`,
        dense: randomFeatures(dataset, reference.width, dataset.selection.seed),
      });
    }

    // 3. The experiment, then the report (all files or none).
    const report = await runRecExperiment(dataset, sets, { ...options, onProgress: progress });
    const files = await writeRecReport(out, report);
    io.stdout.write(tableText(report));
    io.stdout.write(`${report.conclusion.sentence}\nreport: ${files.html}\nreport: ${files.markdown}\nreport: ${files.json}\n`);
    return 0;
  },
};

function generatedDescription(g: GeneratedFeatures, pca: number): string {
  const source = g.method === 'pmg' ? `PMG-generated images (α ${g.alpha})` : 'target-only generated images (no personalization)';
  return `${source} of each (user, item) row: CLIP image embedding → PCA ${pca} fitted on train rows (${(g.explainedVariance * 100).toFixed(1)}% of their variance) + d_p, d_t`;
}

/** --clip, else the run's models folder's clip/, else the default CLIP from the model store. */
async function clipFolder(context: CommandContext, run: RecRun): Promise<string> {
  const given = stringOption(context, 'clip');
  if (given !== undefined) {
    const local = resolve(context.io.cwd, given);
    if (existsSync(local)) {
      if (!statSync(local).isDirectory())
        throw new PmgError('invalid-argument', `--clip ${local} is a file; give a CLIP folder or a hub id`, { details: { field: 'clip' } });
      return local;
    }
  }
  const models = run.config.models.models;
  if (given === undefined && models && existsSync(join(models, 'clip'))) return join(models, 'clip');
  return (await modelStoreForCommand(context).pull(given ?? METRICS['clip-i'].defaultModel!, { include: CLIP_FILES })).dir;
}

function tableText(report: RecReport): string {
  const k = report.options.k;
  const head = [
    'set'.padEnd(12),
    'AUC   ',
    'logloss',
    'GAUC  ',
    `R@${k}`.padEnd(6),
    `N@${k}`.padEnd(6),
    'ms/epoch',
    ' ' + 'ΔAUC vs none'.padEnd(32),
    'ΔAUC vs random',
  ];
  const lines = [head.join(' ')];
  const f = (v: number | null) => (v === null ? '  n/a ' : v.toFixed(4));
  for (const s of report.sets) {
    const m = s.metrics;
    lines.push(
      [
        s.name.padEnd(12),
        f(m.auc),
        f(m.logLoss).padEnd(7),
        f(m.gauc),
        f(m.recall),
        f(m.ndcg),
        String(Math.round(s.training.msPerEpoch)).padStart(8),
        ' ' + (s.vsNone ? deltaText(s.vsNone.auc) : '(baseline)').padEnd(32),
        s.vsRandom ? deltaText(s.vsRandom.auc) : s.name === report.control ? '(control)' : '',
      ].join(' '),
    );
  }
  return `${lines.join('\n')}\n`;
}
