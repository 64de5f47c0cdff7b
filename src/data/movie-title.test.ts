import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readableMovieTitle } from './movie-title.js';

test('the year goes to `year` and a trailing article moves back to the front', () => {
  assert.deepEqual(readableMovieTitle('Shawshank Redemption, The (1994)'), { title: 'The Shawshank Redemption', year: 1994 });
  assert.deepEqual(readableMovieTitle('Walk in the Clouds, A (1995)'), { title: 'A Walk in the Clouds', year: 1995 });
  assert.deepEqual(readableMovieTitle('Awfully Big Adventure, An (1995)'), { title: 'An Awfully Big Adventure', year: 1995 });
  assert.deepEqual(readableMovieTitle('Heat (1995)'), { title: 'Heat', year: 1995 });
  assert.deepEqual(readableMovieTitle('Cosmos'), { title: 'Cosmos' });
  assert.deepEqual(readableMovieTitle('Fawlty Towers (1975-1979)'), { title: 'Fawlty Towers', year: 1975 });
});

test('non-English articles of the MovieLens data, in the title and in each parenthesised alternative', () => {
  const cases: [string, string][] = [
    ['Misérables, Les (1995)', 'Les Misérables'],
    ['Mariachi, El (1992)', 'El Mariachi'],
    ['Divo, Il (2008)', 'Il Divo'],
    ['Baader Meinhof Komplex, Der (2008)', 'Der Baader Meinhof Komplex'],
    ["Atalante, L' (1934)", "L'Atalante"],
    ['City of Lost Children, The (Cité des enfants perdus, La) (1995)', 'The City of Lost Children (La Cité des enfants perdus)'],
    ['Boot, Das (Boat, The) (1981)', 'Das Boot (The Boat)'],
    ["Man on the Train (Homme du train, L') (2002)", "Man on the Train (L'Homme du train)"],
    ['Seventh Seal, The (Sjunde inseglet, Det) (1957)', 'The Seventh Seal (Det Sjunde inseglet)'],
    ['Black Sabbath (Tre volti della paura, I) (1963)', 'Black Sabbath (I Tre volti della paura)'],
    ['Macbeth (a.k.a. Tragedy of Macbeth, The) (1971)', 'Macbeth (a.k.a. The Tragedy of Macbeth)'],
  ];
  for (const [raw, title] of cases) assert.equal(readableMovieTitle(raw).title, title, raw);
});

test('a comma before a word that is not an article is left alone', () => {
  for (const raw of ['Paris, Texas (1984)', 'I, Robot (2004)', 'Monsters, Inc. (2001)', 'Good bye, Lenin! (2003)', 'Tinker, Tailor, Soldier, Spy (2011)']) {
    assert.equal(readableMovieTitle(raw).title, raw.replace(/ \(\d{4}\)$/, ''), raw);
  }
});
