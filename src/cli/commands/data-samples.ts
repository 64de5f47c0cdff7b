/**
 * `pmg data samples`: print the samples a dataset protocol builds, so anyone can see exactly what
 * an evaluation will use. Samples go to stdout (JSON array with --json); skipped counts to stderr.
 */
import { PmgError } from '../../errors/pmg-error.js';
import type { Sample } from '../../spec/behaviour.js';
import { loadMovieLens, movieLensProtocols, movieLensSamples, type MovieLensProtocol } from '../../data/movielens.js';
import { loadPog, pogProtocols, pogSamples, type PogProtocol } from '../../data/pog.js';
import { dataSplits, type DataSplit, type SampleSet } from '../../data/protocol.js';
import { loadStickers, stickerSamples } from '../../data/stickers.js';
import { booleanOption, stringOption, type Command, type CommandContext } from '../command.js';

export const datasets = ['movielens', 'pog', 'stickers'] as const;
export type DatasetName = (typeof datasets)[number];

function integerOption(context: CommandContext, name: string): number | undefined {
  const raw = stringOption(context, name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new PmgError('invalid-argument', `--${name} must be a non-negative integer, got '${raw}'`);
  return Number(raw);
}

export const dataSamplesCommand: Command = {
  name: 'data samples',
  summary: 'print the evaluation samples a dataset protocol builds (history + target per sample)',
  usage: '--dataset movielens|pog|stickers --data DIR [--posters DIR] [--protocol official|window] [--split train|val|test] [--limit N] [--seed S] [--json]',
  details: [
    'Protocols: official = PMG\'s (MovieLens: ratings >= 4, rating then time descending, history = first min(3, n-1), target = next;',
    'POG: first 1000 users, last 5 clicked items with images, a seeded random outfit item as target);',
    'window = 5 history + 1 target over each user\'s time-ordered items, split 8:1:1 by --seed (stickers: window only).',
    'Samples whose images are missing are skipped; the counts per reason are printed on stderr.',
    'Example: pmg data samples --dataset movielens --data ml-latest-small --limit 5 --json',
  ].join('\n'),
  options: {
    dataset: { type: 'string', value: 'NAME', description: `dataset: ${datasets.join(', ')}` },
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
    if (!dataset) throw new PmgError('invalid-argument', `--dataset is required (one of ${datasets.join(', ')})`);
    if (!(datasets as readonly string[]).includes(dataset)) throw new PmgError('invalid-argument', `unknown dataset '${dataset}'; use one of ${datasets.join(', ')}`);
    if (!data) throw new PmgError('invalid-argument', '--data DIR is required (the folder of the dataset files)');
    const split = stringOption(context, 'split');
    if (split !== undefined && !(dataSplits as readonly string[]).includes(split)) throw new PmgError('invalid-argument', `unknown --split '${split}'; use one of ${dataSplits.join(', ')}`);
    const limit = integerOption(context, 'limit');
    const seed = integerOption(context, 'seed') ?? 0;
    const protocol = stringOption(context, 'protocol') ?? (dataset === 'stickers' ? 'window' : 'official');
    const query = { ...(split ? { split: split as DataSplit } : {}), ...(limit !== undefined ? { limit } : {}), seed };
    const posters = stringOption(context, 'posters');
    const images = stringOption(context, 'images');
    if (posters !== undefined && dataset !== 'movielens') throw new PmgError('invalid-argument', '--posters is for --dataset movielens; POG takes --images, stickers read <data>/Images');
    if (images !== undefined && dataset !== 'pog') throw new PmgError('invalid-argument', '--images is for --dataset pog; MovieLens takes --posters');

    let result: SampleSet;
    if (dataset === 'movielens') {
      if (!(movieLensProtocols as readonly string[]).includes(protocol)) throw new PmgError('invalid-argument', `unknown --protocol '${protocol}' for movielens; use one of ${movieLensProtocols.join(', ')}`);
      const loaded = await loadMovieLens(data, posters === undefined ? {} : { posters });
      result = movieLensSamples(loaded, { protocol: protocol as MovieLensProtocol, ...query });
    } else if (dataset === 'pog') {
      if (!(pogProtocols as readonly string[]).includes(protocol)) throw new PmgError('invalid-argument', `unknown --protocol '${protocol}' for pog; use one of ${pogProtocols.join(', ')}`);
      const loaded = await loadPog(data, images === undefined ? {} : { images });
      result = pogSamples(loaded, { protocol: protocol as PogProtocol, ...query });
    } else {
      if (protocol !== 'window') throw new PmgError('invalid-argument', `unknown --protocol '${protocol}' for stickers; stickers have only the window protocol`);
      result = stickerSamples(await loadStickers(data), { protocol: 'window', ...query });
    }

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
