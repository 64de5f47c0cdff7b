/**
 * A synthetic MovieLens folder (ml-latest-small layout) for the recommendation tests: `movies` movies with one to
 * three of four genres, `users` users, each rating a seeded subset of the movies at seeded times; a user likes
 * (rating >= 4) mostly the movies of their favourite genre, so ids and genres carry a learnable signal.
 * User 1 rates only two movies, both 5 (an all-train user); user 2 rates three movies, all below 4 (dropped: fewer
 * than 2 train positives). Everything else follows from the seed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../core/random.js';

const GENRES = ['Action', 'Comedy', 'Drama', 'Sci-Fi'];

export interface RecMovieLensOptions {
  users?: number;
  movies?: number;
  /** Ratings per regular user (default 12). */
  perUser?: number;
  seed?: number;
}

export function writeRecMovieLens(dir: string, options: RecMovieLensOptions = {}): string {
  const users = options.users ?? 12;
  const movies = options.movies ?? 30;
  const perUser = Math.min(options.perUser ?? 12, movies);
  const random = new SeededRandom(options.seed ?? 7);
  mkdirSync(dir, { recursive: true });
  const genresOf: string[][] = [];
  const movieLines = ['movieId,title,genres'];
  for (let m = 1; m <= movies; m++) {
    const genres = [GENRES[m % GENRES.length]!, ...(m % 3 === 0 ? [GENRES[(m + 1) % GENRES.length]!] : [])];
    genresOf[m] = genres;
    movieLines.push(`${m},Movie ${m} (${1980 + (m % 40)}),${genres.join('|')}`);
  }
  const ratingLines = ['userId,movieId,rating,timestamp'];
  for (let u = 1; u <= users; u++) {
    const favourite = GENRES[u % GENRES.length]!;
    const ids = Array.from({ length: movies }, (_, i) => i + 1);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(random.nextFloat() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    const count = u === 1 ? 2 : u === 2 ? 3 : perUser;
    let time = 1_000_000 + u * 10_000;
    for (const m of ids.slice(0, count)) {
      time += 1 + Math.floor(random.nextFloat() * 500);
      const liked = genresOf[m]!.includes(favourite) ? random.nextFloat() < 0.85 : random.nextFloat() < 0.3;
      const rating = u === 2 ? 2 : u === 1 ? 5 : liked ? 4 + Math.floor(random.nextFloat() * 3) / 2 : 1 + Math.floor(random.nextFloat() * 5) / 2;
      ratingLines.push(`${u},${m},${rating},${time}`);
    }
  }
  writeFileSync(join(dir, 'movies.csv'), movieLines.join('\n') + '\n');
  writeFileSync(join(dir, 'ratings.csv'), ratingLines.join('\n') + '\n');
  return dir;
}
