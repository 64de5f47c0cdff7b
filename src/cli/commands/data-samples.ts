/**
 * `pmg data samples`: print the samples a dataset protocol builds, so anyone can see exactly what
 * an evaluation will use. Samples go to stdout (JSON array with --json); skipped counts to stderr.
 */
import { PmgError } from '../../errors/pmg-error.js';
import { checkDataset, EVAL_DATASETS, loadEvalSamples } from '../../experiments/eval-samples.js';
import type { Sample } from '../../spec/behaviour.js';
import { booleanOption, stringOption, type Command } from '../command.js';
import { intOption } from '../option-values.js';

export const dataSamplesCommand: Command = {
  name: 'data samples',
  summary: 'print the evaluation samples a dataset protocol builds (history + target per sample)',
  usage:
    '--dataset movielens|pog|stickers|samples --data DIR [--posters DIR] [--protocol official|window] [--split train|val|test] [--limit N] [--seed S] [--json]',
  details: [
    "Protocols: official = PMG's (MovieLens: ratings >= 4, rating then time descending, history = first min(3, n-1), target = next;",
    'POG: first 1000 users, last 5 clicked items with images, a seeded random outfit item as target);',
    "window = 5 history + 1 target over each user's time-ordered items, split 8:1:1 by --seed (stickers: window only);",
    "file = the samples of a samples.jsonl (--dataset samples --data DIR|FILE, e.g. a 'pmg rec plan' folder).",
    'Samples whose images are missing are skipped; the counts per reason are printed on stderr.',
    'Example: pmg data samples --dataset movielens --data ml-latest-small --limit 5 --json',
  ].join('\n'),
  options: {
    dataset: { type: 'string', value: 'NAME', description: `dataset: ${EVAL_DATASETS.join(', ')}` },
    data: { type: 'string', value: 'DIR', description: 'folder of the dataset files' },
    posters: { type: 'string', value: 'DIR', description: 'MovieLens: folder of <movieId>.jpg|png posters; samples then need every poster' },
    images: { type: 'string', value: 'DIR', description: 'POG: folder of <itemId>.jpg|png images (default: <data>/images)' },
    protocol: { type: 'string', value: 'NAME', description: 'official or window (default: official; stickers: window)' },
    split: { type: 'string', value: 'NAME', description: 'window protocol: only the train, val or test part of the 8:1:1 split' },
    limit: { type: 'string', value: 'N', description: 'print at most N samples' },
    seed: { type: 'string', value: 'S', description: 'seed of the split and of random targets', default: '0' },
    json: { type: 'boolean', description: 'print a JSON array of samples' },
  },
  async run(context) {
    const dataset = stringOption(context, 'dataset');
    const data = stringOption(context, 'data');
    if (!dataset) throw new PmgError('invalid-argument', `--dataset is required (one of ${EVAL_DATASETS.join(', ')})`);
    checkDataset(dataset);
    if (!data) throw new PmgError('invalid-argument', '--data DIR is required (the folder of the dataset files)');
    const limit = intOption(context, 'limit', { min: 0 });
    const posters = stringOption(context, 'posters');
    const images = stringOption(context, 'images');
    const protocol = stringOption(context, 'protocol');
    const split = stringOption(context, 'split');
    const result = await loadEvalSamples({
      dataset,
      data,
      ...(posters !== undefined ? { posters } : {}),
      ...(images !== undefined ? { images } : {}),
      ...(protocol !== undefined ? { protocol } : {}),
      ...(split !== undefined ? { split } : {}),
      ...(limit !== undefined ? { limit } : {}),
      seed: intOption(context, 'seed', { min: 0, fallback: 0 }),
    });

    const { stdout, stderr } = context.io;
    if (booleanOption(context, 'json')) stdout.write(`${JSON.stringify(result.samples, null, 2)}\n`);
    else stdout.write(result.samples.map(describe).join(''));
    const skipped = Object.entries(result.skipped);
    stderr.write(`${result.samples.length} sample(s); skipped: ${skipped.length ? skipped.map(([reason, n]) => `${reason} ${n}`).join(', ') : 'none'}\n`);
    return 0;
  },
};

function itemLabel(item: { id?: string; title?: string } | undefined): string {
  if (!item) return '(conversation)';
  return `${item.title ?? '(untitled)'}${item.id ? ` [${item.id}]` : ''}`;
}

function describe(sample: Sample): string {
  const lines = [`${sample.id}  user ${sample.user}${sample.split ? `  (${sample.split})` : ''}`];
  sample.history.items.forEach((item, i) => lines.push(`  ${i}. ${itemLabel(item)}`));
  lines.push(`  -> ${itemLabel(sample.target.item)}`);
  return `${lines.join('\n')}\n`;
}
