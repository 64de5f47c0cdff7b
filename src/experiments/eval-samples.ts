/**
 * The samples of an eval run, built by the dataset protocols (src/data/): MovieLens, POG or stickers,
 * in protocol order, with the protocol's skipped counts (a sample is never dropped silently); or read from a
 * samples file (`samples`: samples.jsonl as `pmg rec plan` writes it, protocol 'file').
 */
import { loadMovieLens, movieLensProtocols, movieLensSamples, type MovieLensProtocol } from '../data/movielens.js';
import { readSampleFile, sampleFileProtocols } from '../data/sample-file.js';
import { loadPog, pogProtocols, pogSamples, type PogProtocol } from '../data/pog.js';
import { dataSplits, type DataSplit, type SampleSet } from '../data/protocol.js';
import { loadStickers, stickerSamples } from '../data/stickers.js';
import { PmgError } from '../errors/pmg-error.js';

export const EVAL_DATASETS = ['movielens', 'pog', 'stickers', 'samples'] as const;
export type EvalDataset = (typeof EVAL_DATASETS)[number];

/** Where an eval's samples come from; a run's config (run-config.ts) records the same fields. */
export interface EvalSampleSource {
  /** 'movielens' | 'pog' | 'stickers' | 'samples' (a run config may say 'custom' for samples given in code: bench, tests). */
  dataset: string;
  /** Absolute dataset folder, or the samples file (empty for custom samples). */
  data: string;
  posters?: string;
  images?: string;
  protocol?: string;
  split?: string;
  limit?: number;
}

export interface EvalSampleQuery extends EvalSampleSource {
  /** Seed of the dataset protocol (splits, random targets). */
  seed: number;
}

/** The protocol used when none is given: official, except stickers (window only) and samples files ('file'). */
export function defaultProtocol(dataset: string): string {
  return dataset === 'stickers' ? 'window' : dataset === 'samples' ? 'file' : 'official';
}

export function checkDataset(dataset: string): EvalDataset {
  if (!(EVAL_DATASETS as readonly string[]).includes(dataset))
    throw new PmgError('invalid-argument', `unknown dataset '${dataset}'; use one of ${EVAL_DATASETS.join(', ')}`);
  return dataset as EvalDataset;
}

export async function loadEvalSamples(query: EvalSampleQuery): Promise<SampleSet> {
  const dataset = checkDataset(query.dataset);
  const protocol = query.protocol ?? defaultProtocol(dataset);
  if (query.split !== undefined && !(dataSplits as readonly string[]).includes(query.split))
    throw new PmgError('invalid-argument', `split: unknown split '${query.split}'; use one of ${dataSplits.join(', ')}`, { details: { field: 'split' } });
  if (query.posters !== undefined && dataset !== 'movielens')
    throw new PmgError('invalid-argument', 'posters is for the movielens dataset; POG takes an images folder, stickers read <data>/Images', {
      details: { field: 'posters' },
    });
  if (query.images !== undefined && dataset !== 'pog')
    throw new PmgError('invalid-argument', 'images is for the pog dataset; MovieLens takes a posters folder', { details: { field: 'images' } });
  const sampleQuery = {
    ...(query.split ? { split: query.split as DataSplit } : {}),
    ...(query.limit !== undefined ? { limit: query.limit } : {}),
    seed: query.seed,
  };
  if (dataset === 'samples') {
    if (!(sampleFileProtocols as readonly string[]).includes(protocol))
      throw new PmgError('invalid-argument', `protocol: a samples file has only the 'file' protocol, got '${protocol}'`, { details: { field: 'protocol' } });
    return readSampleFile(query.data, sampleQuery);
  }
  if (dataset === 'movielens') {
    if (!(movieLensProtocols as readonly string[]).includes(protocol))
      throw new PmgError('invalid-argument', `protocol: unknown protocol '${protocol}' for movielens; use one of ${movieLensProtocols.join(', ')}`, {
        details: { field: 'protocol' },
      });
    const data = await loadMovieLens(query.data, query.posters === undefined ? {} : { posters: query.posters });
    return movieLensSamples(data, { protocol: protocol as MovieLensProtocol, ...sampleQuery });
  }
  if (dataset === 'pog') {
    if (!(pogProtocols as readonly string[]).includes(protocol))
      throw new PmgError('invalid-argument', `protocol: unknown protocol '${protocol}' for pog; use one of ${pogProtocols.join(', ')}`, {
        details: { field: 'protocol' },
      });
    const data = await loadPog(query.data, query.images === undefined ? {} : { images: query.images });
    return pogSamples(data, { protocol: protocol as PogProtocol, ...sampleQuery });
  }
  if (protocol !== 'window')
    throw new PmgError('invalid-argument', `protocol: unknown protocol '${protocol}' for stickers; stickers have only the window protocol`, {
      details: { field: 'protocol' },
    });
  return stickerSamples(await loadStickers(query.data), { protocol: 'window', ...sampleQuery });
}
