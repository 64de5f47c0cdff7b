/**
 * The small MovieLens sample that ships with pmg (assets/sample/movielens-demo.json): three
 * ml-latest-small users under the official protocol, for `pmg demo` and for trying pmg without
 * downloading a dataset. Made by scripts/reference/movielens_demo.py; licence in assets/sample/README.md.
 */
import { readFileSync } from 'node:fs';
import { assetPath } from '../core/package-root.js';
import { parseJsonText } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';
import { readableMovieTitle } from './movie-title.js';
import type { Item, Sample } from '../spec/behaviour.js';

interface DemoMovie {
  id: string;
  title: string;
  year?: number;
  genres: string[];
  keywords?: string[];
  description?: string;
}

interface DemoFile {
  samples: { user: string; history: DemoMovie[]; target: DemoMovie }[];
}

export const DEMO_SAMPLE_PATH = ['assets', 'sample', 'movielens-demo.json'] as const;

/** Titles in the file keep MovieLens's spelling ("Shawshank Redemption, The"); items read as people write them. */
function toItem(movie: DemoMovie): Item {
  return {
    id: movie.id,
    title: readableMovieTitle(movie.title).title,
    genres: [...movie.genres],
    ...(movie.keywords ? { keywords: [...movie.keywords] } : {}),
    ...(movie.description ? { description: movie.description } : {}),
  };
}

/** The demo samples (no images: MovieLens has no posters). `file` overrides the shipped JSON. */
export function loadDemoSamples(file: string = assetPath(...DEMO_SAMPLE_PATH)): Sample[] {
  let doc: DemoFile;
  try {
    doc = parseJsonText(readFileSync(file, 'utf8')) as DemoFile;
  } catch (error) {
    throw new PmgError('invalid-input', `cannot read the demo sample ${file}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  if (!Array.isArray(doc.samples)) throw new PmgError('invalid-input', `${file}: expected a "samples" array`);
  return doc.samples.map((s, index) => {
    if (!Array.isArray(s.history) || !s.target?.title)
      throw new PmgError('invalid-input', `${file}: samples[${index}] needs a history array and a target with a title`);
    return {
      id: `movielens:user-${s.user}`,
      user: s.user,
      scene: 'movie',
      history: { items: s.history.map(toItem) },
      target: { item: toItem(s.target) },
      historyImages: [],
    };
  });
}
