/**
 * A tiny MovieLens folder (ml-latest-small layout) for server and browser tests: user 1 likes five movies, user 2 one
 * (no sample), user 10 two. Official protocol: user 1's history is movies 1, 2, 4 and its held-out target 3.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const tinyMovieLensMovies = [
  '1,Toy Story (1995),Adventure|Animation',
  '2,"Story of Us, The (1999)",Comedy',
  '3,Heat (1995),Action|Crime',
  '4,Toys (1992),Comedy',
  '5,Jumanji (1995),(no genres listed)',
  '6,Storytelling (2001),Comedy|Drama',
];

export function writeTinyMovieLens(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'movies.csv'), ['movieId,title,genres', ...tinyMovieLensMovies].join('\n') + '\n');
  writeFileSync(
    join(dir, 'ratings.csv'),
    [
      'userId,movieId,rating,timestamp',
      '1,1,5,100',
      '1,2,4.5,200',
      '1,3,4,300',
      '1,4,4,400',
      '1,5,4,50',
      '2,1,5,100',
      '2,3,2,100',
      '10,3,5,10',
      '10,4,4,20',
    ].join('\n') + '\n',
  );
  return dir;
}
