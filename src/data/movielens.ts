/**
 * MovieLens (ml-latest-small and its older releases): movies, ratings, tag keywords, optional posters,
 * and the two sample protocols.
 *
 * Files: `movies.csv` (movieId,title,genres) and `ratings.csv` (userId,movieId,rating,timestamp) are
 * required; `tags.csv` (userId,movieId,tag,timestamp) is optional. Columns are found by header name, so
 * both the 2016 (671 users) and the 2018 (610 users) releases load, with LF or CRLF line ends.
 *
 * Keywords (five per movie, method.md 1.1): the movie's most frequent tags in tags.csv — a tag is
 * trimmed, inner whitespace collapsed and lower-cased, counted once per tag row, ordered by count
 * (descending) then alphabetically — topped up with the movie's genres (lower-cased, not already
 * present) when fewer than five tags exist. A movie with no tags gets its genres.
 *
 * Titles are read as people write them (movie-title.ts): the trailing "(year)" goes to `year` and a trailing article
 * moves back to the front ("Silence of the Lambs, The (1991)" → "The Silence of the Lambs", 1991).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import type { Item, Sample } from '../spec/behaviour.js';
import { csvRecords } from './csv.js';
import { readableMovieTitle } from './movie-title.js';
import {
  ImageFolder,
  SkipCounter,
  checkLimit,
  checkSeed,
  requireDir,
  itemSample,
  slidingWindows,
  windowSamples,
  type SampleQuery,
  type SampleSet,
} from './protocol.js';

export interface Movie {
  id: string;
  title: string;
  year?: number;
  genres: string[];
  keywords: string[];
}

export interface Rating {
  movieId: string;
  rating: number;
  /** Seconds since 1970-01-01 UTC. */
  timestamp: number;
}

export interface MovieLensData {
  dir: string;
  movies: Map<string, Movie>;
  /** Each user's ratings in file order. */
  ratings: Map<string, Rating[]>;
  /** User ids in ascending numeric order. */
  users: string[];
  ratingCount: number;
  /** The poster folder, when one was given (`<movieId>.jpg|jpeg|png|webp`). */
  posters?: ImageFolder;
}

export interface MovieLensOptions {
  /** Folder of poster images named `<movieId>.jpg|png`; when given, samples need every poster. */
  posters?: string;
}

export type MovieLensProtocol = 'official' | 'window';
export const movieLensProtocols: readonly MovieLensProtocol[] = ['official', 'window'];

export interface MovieLensSampleOptions extends SampleQuery {
  protocol: MovieLensProtocol;
}

/** Ratings at or above this count as positive (liked) behaviour. */
export const POSITIVE_RATING = 4;
/** Official protocol: at most this many history items. */
export const OFFICIAL_HISTORY = 3;
export const KEYWORD_COUNT = 5;

export async function loadMovieLens(dir: string, options: MovieLensOptions = {}): Promise<MovieLensData> {
  requireDir(dir, 'MovieLens');
  const posters = options.posters === undefined ? undefined : new ImageFolder(options.posters, 'posters');
  const movies = new Map<string, Movie>();
  const moviesFile = join(dir, 'movies.csv');
  for await (const { line, values } of csvRecords(moviesFile, ['movieId', 'title', 'genres'])) {
    const id = values.movieId!.trim();
    if (!id) throw new PmgError('invalid-input', `${moviesFile}:${line}: empty movieId`);
    const genres =
      values.genres === '(no genres listed)'
        ? []
        : values
            .genres!.split('|')
            .map((g) => g.trim())
            .filter(Boolean);
    movies.set(id, { id, ...readableMovieTitle(values.title!), genres, keywords: [] });
  }

  const ratings = new Map<string, Rating[]>();
  let ratingCount = 0;
  const ratingsFile = join(dir, 'ratings.csv');
  for await (const { line, values } of csvRecords(ratingsFile, ['userId', 'movieId', 'rating', 'timestamp'])) {
    const user = values.userId!.trim();
    const movieId = values.movieId!.trim();
    const rating = Number(values.rating);
    const timestamp = Number(values.timestamp);
    if (!user) throw new PmgError('invalid-input', `${ratingsFile}:${line}: empty userId`);
    if (values.rating!.trim() === '' || !Number.isFinite(rating))
      throw new PmgError('invalid-input', `${ratingsFile}:${line}: rating '${values.rating}' is not a number`);
    if (values.timestamp!.trim() === '' || !Number.isInteger(timestamp))
      throw new PmgError('invalid-input', `${ratingsFile}:${line}: timestamp '${values.timestamp}' is not an integer`);
    if (!movies.has(movieId)) throw new PmgError('invalid-input', `${ratingsFile}:${line}: movie ${movieId} is not in movies.csv`);
    let list = ratings.get(user);
    if (!list) ratings.set(user, (list = []));
    list.push({ movieId, rating, timestamp });
    ratingCount++;
  }

  const tagsFile = join(dir, 'tags.csv');
  const tagCounts = new Map<string, Map<string, number>>();
  if (existsSync(tagsFile)) {
    for await (const { values } of csvRecords(tagsFile, ['movieId', 'tag'])) {
      const tag = values.tag!.split(/\s+/).filter(Boolean).join(' ').toLowerCase();
      const movieId = values.movieId!.trim();
      if (!tag || !movies.has(movieId)) continue;
      let counts = tagCounts.get(movieId);
      if (!counts) tagCounts.set(movieId, (counts = new Map()));
      counts.set(tag, (counts.get(tag) ?? 0) + 1);
    }
  }
  for (const movie of movies.values()) movie.keywords = movieKeywords(movie, tagCounts.get(movie.id));

  const users = [...ratings.keys()].sort(compareIds);
  return { dir, movies, ratings, users, ratingCount, ...(posters ? { posters } : {}) };
}

function movieKeywords(movie: Movie, counts: Map<string, number> | undefined): string[] {
  const ranked = counts ? [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([tag]) => tag) : [];
  const keywords = ranked.slice(0, KEYWORD_COUNT);
  for (const genre of movie.genres) {
    if (keywords.length >= KEYWORD_COUNT) break;
    const g = genre.toLowerCase();
    if (!keywords.includes(g)) keywords.push(g);
  }
  return keywords;
}

/** Numeric ids in numeric order, anything else after them in string order. */
export function compareIds(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  const xn = a !== '' && Number.isFinite(x);
  const yn = b !== '' && Number.isFinite(y);
  if (xn && yn) return x - y || (a < b ? -1 : a > b ? 1 : 0);
  if (xn !== yn) return xn ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The user's positive ratings (>= 4) in the official order: rating desc, then time desc, then movieId asc. */
export function officialOrder(ratings: readonly Rating[]): Rating[] {
  return ratings
    .filter((r) => r.rating >= POSITIVE_RATING)
    .sort((a, b) => b.rating - a.rating || b.timestamp - a.timestamp || compareIds(a.movieId, b.movieId));
}

/** The user's positive ratings in time order (ties by movieId), for the sliding window. */
export function timeOrder(ratings: readonly Rating[]): Rating[] {
  return ratings.filter((r) => r.rating >= POSITIVE_RATING).sort((a, b) => a.timestamp - b.timestamp || compareIds(a.movieId, b.movieId));
}

/** A movie as a history/target item (title, genres, five keywords, poster when there is one). */
export function movieItem(data: MovieLensData, movieId: string): Item {
  const movie = data.movies.get(movieId);
  if (!movie) throw new PmgError('invalid-argument', `movie ${movieId} is not in ${join(data.dir, 'movies.csv')}`);
  const image = data.posters?.find(movieId);
  return { id: movie.id, title: movie.title, genres: [...movie.genres], keywords: [...movie.keywords], ...(image ? { image } : {}) };
}

function buildSample(data: MovieLensData, id: string, user: string, historyIds: string[], targetId: string): Sample | string {
  const history = historyIds.map((m) => movieItem(data, m));
  const target = movieItem(data, targetId);
  if (data.posters) {
    if (!target.image) return 'missing-target-image';
    if (history.some((item) => !item.image)) return 'missing-history-image';
  }
  return itemSample(id, user, 'movie', history, target);
}

function officialSample(data: MovieLensData, user: string): Sample | string {
  const ordered = officialOrder(data.ratings.get(user) ?? []);
  if (ordered.length <= 1) return 'too-few-positives';
  const h = Math.min(OFFICIAL_HISTORY, ordered.length - 1);
  return buildSample(
    data,
    `movielens:user-${user}`,
    user,
    ordered.slice(0, h).map((r) => r.movieId),
    ordered[h]!.movieId,
  );
}

/**
 * Samples under a protocol.
 * - official (PMG [C]): one sample per user with at least two ratings >= 4; users in ascending id order.
 * - window (successors): every 6 consecutive positives in time order (5 history + 1 target) per user; the
 *   windows are split 8:1:1 by `splitEightOneOne(ids, seed)`, tagged in `sample.split`.
 * With a poster folder, a sample lacking any poster is skipped and counted.
 */
export function movieLensSamples(data: MovieLensData, options: MovieLensSampleOptions): SampleSet {
  checkLimit(options.limit);
  checkSeed(options.seed);
  const skip = new SkipCounter();
  const samples: Sample[] = [];
  if (options.protocol === 'official') {
    if (options.split)
      throw new PmgError(
        'invalid-argument',
        `the official MovieLens protocol has no ${options.split} split (one sample per user); use the window protocol for an 8:1:1 split`,
      );
    for (const user of data.users) {
      if (options.limit !== undefined && samples.length >= options.limit) break;
      const result = officialSample(data, user);
      if (typeof result === 'string') skip.add(result);
      else samples.push(result);
    }
    return { samples, skipped: skip.counts };
  }
  if (options.protocol !== 'window') {
    throw new PmgError('invalid-argument', `unknown protocol '${String(options.protocol)}'; use one of ${movieLensProtocols.join(', ')}`);
  }
  const windows: { id: string; user: string; history: string[]; target: string }[] = [];
  for (const user of data.users) {
    const ordered = timeOrder(data.ratings.get(user) ?? []).map((r) => r.movieId);
    const found = slidingWindows(ordered);
    if (found.length === 0) skip.add('too-few-positives');
    for (const w of found) windows.push({ id: `movielens:user-${user}:window-${w.start}`, user, history: w.history, target: w.target });
  }
  const windowed = windowSamples(windows, options, skip, (w) => buildSample(data, w.id, w.user, w.history, w.target));
  return { samples: windowed, skipped: skip.counts };
}

/** The official-protocol sample of one user (issue 3's `--dataset movielens --user ID`). */
export function movieLensSampleForUser(data: MovieLensData, userId: string): Sample {
  const ratings = data.ratings.get(userId);
  if (!ratings) {
    const range = data.users.length ? ` (users there run from ${data.users[0]} to ${data.users[data.users.length - 1]})` : '';
    throw new PmgError('invalid-argument', `user ${userId} is not in ${join(data.dir, 'ratings.csv')}${range}`, { details: { user: userId } });
  }
  const result = officialSample(data, userId);
  if (result === 'too-few-positives') {
    const n = ratings.filter((r) => r.rating >= POSITIVE_RATING).length;
    throw new PmgError(
      'invalid-argument',
      `user ${userId} has ${n} rating(s) >= ${POSITIVE_RATING}; the official protocol needs at least 2 (one history item and a target)`,
      { details: { user: userId } },
    );
  }
  if (typeof result === 'string') {
    throw new PmgError(
      'file-not-found',
      `user ${userId}'s sample lacks a poster (${result}) in ${data.posters?.dir}; add <movieId>.jpg files or leave the posters folder out`,
      { details: { user: userId } },
    );
  }
  return result;
}
