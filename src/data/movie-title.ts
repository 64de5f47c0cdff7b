/**
 * MovieLens titles as people write them. MovieLens files a title under its noun with the article moved to the end
 * and the year in parentheses: `Shawshank Redemption, The (1994)`, `City of Lost Children, The (Cité des enfants
 * perdus, La) (1995)`. `readableMovieTitle` takes the year off (it goes to `year`) and moves a trailing article back
 * to the front of the title and of each parenthesised alternative title: `The Shawshank Redemption`,
 * `The City of Lost Children (La Cité des enfants perdus)`.
 *
 * Articles moved: English (The, A, An) and the ones the MovieLens data uses for other languages — French (Le, La,
 * Les, L', Un, Une), Spanish (El, Los, Las, Un, Una), Italian (Il, Lo, La, I, Gli, L', Un, Una, Uno), German (Der,
 * Die, Das, Ein, Eine), Portuguese (O, Os, A, As), Dutch/Scandinavian (De, Het, Den, Det, En, Ett). A comma before
 * any other word (`Paris, Texas`, `I, Robot`, `Monsters, Inc.`) is left alone; `(a.k.a. Gates of Hell, The)` becomes
 * `(a.k.a. The Gates of Hell)`.
 */
const ARTICLES = [
  'The',
  'A',
  'An',
  'Le',
  'La',
  'Les',
  "L'",
  'Un',
  'Une',
  'El',
  'Los',
  'Las',
  'Una',
  'Il',
  'Lo',
  'I',
  'Gli',
  'Uno',
  'Der',
  'Die',
  'Das',
  'Ein',
  'Eine',
  'O',
  'Os',
  'As',
  'De',
  'Het',
  'Den',
  'Det',
  'En',
  'Ett',
];

const YEAR = /\s*\((\d{4})(?:[-–]\d{4})?\)\s*$/;
const TRAILING_ARTICLE = new RegExp(`^(.+), (${ARTICLES.join('|')})$`);

/** `Shawshank Redemption, The (1994)` → `{ title: 'The Shawshank Redemption', year: 1994 }`. */
export function readableMovieTitle(raw: string): { title: string; year?: number } {
  const text = raw.trim();
  const year = YEAR.exec(text);
  const body = year ? text.slice(0, year.index) : text;
  const title = body.replace(/^([^(]*?)(?=\s*\(|$)/, (main) => frontArticle(main)).replace(/\(([^()]*)\)/g, (_, inner: string) => `(${frontArticle(inner)})`);
  return year ? { title, year: Number(year[1]) } : { title };
}

/** `Gates of Hell, The` → `The Gates of Hell`; an `a.k.a. ` in front stays in front. */
function frontArticle(segment: string): string {
  const aka = /^a\.k\.a\.\s+/i.exec(segment)?.[0] ?? '';
  const match = TRAILING_ARTICLE.exec(segment.slice(aka.length).trim());
  if (!match) return segment;
  const article = match[2]!;
  return `${aka}${article}${article.endsWith("'") ? '' : ' '}${match[1]}`;
}
