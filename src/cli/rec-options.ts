/**
 * The flags `pmg rec plan` and `pmg rec` share: the dataset and the selection of rows (users, items, ranking negatives,
 * seed). Both commands must be given the same values, so they read them here, the same way.
 */
import { resolve } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { loadMovieLens } from '../data/movielens.js';
import { DEFAULT_REC_SELECTION, movieLensRecData, type RecData } from '../rec/movielens-rec.js';
import type { RecSelection } from '../rec/rec-types.js';
import type { MovieLensData } from '../data/movielens.js';
import { stringOption, type CommandContext, type OptionSpec } from './command.js';
import { intOption } from './option-values.js';

export const recSelectionOptions: Record<string, OptionSpec> = {
  dataset: { type: 'string', value: 'NAME', description: 'dataset: movielens' },
  data: { type: 'string', value: 'DIR', description: 'MovieLens folder (movies.csv, ratings.csv; e.g. ml-latest-small)' },
  users: { type: 'string', value: 'N', description: 'draw N users at random (seeded; default: all)' },
  items: { type: 'string', value: 'M', description: 'keep the M items the drawn users rated most (default: all they rated)' },
  negatives: {
    type: 'string',
    value: 'N',
    description: 'unrated items sampled per test user for the ranking metrics (each needs an image when features are generated)',
    default: String(DEFAULT_REC_SELECTION.negatives),
  },
  seed: { type: 'string', value: 'S', description: 'seed of the user draw, the ranking negatives (and of the model and bootstrap in pmg rec)', default: '0' },
};

/** The selection flags as `pmg rec plan` would repeat them (only those that differ from the defaults). */
export function selectionFlags(selection: RecSelection): string {
  const parts: string[] = [];
  if (selection.users !== undefined) parts.push(`--users ${selection.users}`);
  if (selection.items !== undefined) parts.push(`--items ${selection.items}`);
  if (selection.negatives !== DEFAULT_REC_SELECTION.negatives) parts.push(`--negatives ${selection.negatives}`);
  if (selection.seed !== DEFAULT_REC_SELECTION.seed) parts.push(`--seed ${selection.seed}`);
  return parts.join(' ');
}

export function recSelection(context: CommandContext): RecSelection {
  const dataset = stringOption(context, 'dataset');
  if (dataset === undefined) throw new PmgError('invalid-argument', 'missing --dataset (movielens)', { details: { field: 'dataset' } });
  if (dataset !== 'movielens')
    throw new PmgError('invalid-argument', `--dataset: '${dataset}' is not supported by pmg rec yet; use movielens`, { details: { field: 'dataset' } });
  const users = intOption(context, 'users', { min: 1 });
  const items = intOption(context, 'items', { min: 1 });
  return {
    ...DEFAULT_REC_SELECTION,
    ...(users !== undefined ? { users } : {}),
    ...(items !== undefined ? { items } : {}),
    negatives: intOption(context, 'negatives', { min: 0, fallback: DEFAULT_REC_SELECTION.negatives }),
    seed: intOption(context, 'seed', { min: 0, fallback: DEFAULT_REC_SELECTION.seed }),
  };
}

/** The MovieLens folder of --data, loaded. */
export async function recMovieLens(context: CommandContext): Promise<MovieLensData> {
  const text = stringOption(context, 'data');
  if (text === undefined)
    throw new PmgError('invalid-argument', '--data DIR is required (the MovieLens folder, e.g. ml-latest-small)', { details: { field: 'data' } });
  return loadMovieLens(resolve(context.io.cwd, text));
}

/** The rows the flags select, with their stats. */
export async function recDataFromFlags(context: CommandContext): Promise<{ data: MovieLensData; rec: RecData }> {
  const selection = recSelection(context);
  const data = await recMovieLens(context);
  return { data, rec: movieLensRecData(data, selection) };
}

/** One line of counts: rows per split, users, items, positive rate, dropped users. */
export function describeRecData(rec: RecData): string {
  const { stats } = rec;
  const dropped = Object.entries(stats.droppedUsers)
    .map(([reason, ids]) => `${reason} ${ids.length}`)
    .join(', ');
  return (
    `${rec.dataset.rows.length} rows (train ${stats.rows.train}, val ${stats.rows.val}, test ${stats.rows.test}, rank ${stats.rows.rank}) ` +
    `of ${stats.users} users and ${stats.items} items; ${(stats.positiveRate * 100).toFixed(1)}% of rated rows positive; ` +
    `dropped users: ${dropped || 'none'}; all-train users (< 3 rows): ${stats.allTrainUsers}; users without a test positive (no ranking list): ${stats.usersWithoutRanking}`
  );
}
