#!/usr/bin/env python3
"""Writes assets/sample/movielens-demo.json: three ml-latest-small users under PMG's official protocol
(ratings >= 4, rating desc then time desc, history = first min(3, n-1), target = next), with titles,
genres and five keywords (5 most frequent tags, lower-cased, ties alphabetical, filled up with genres).
Run once by hand:  python3 scripts/reference/movielens_demo.py /path/to/ml-latest-small
The one-line target descriptions are written by the pmg authors (MovieLens has no synopses)."""
import collections, csv, json, os, re, sys

USERS = ['54', '157', '431']
DESCRIPTIONS = {
    '318': 'A banker serving a life sentence for a murder he says he did not commit befriends a fellow inmate over two decades in Shawshank prison.',
    '527': 'A German industrialist saves more than a thousand Jewish workers during the Holocaust by employing them in his factories.',
    '1278': "The grandson of Victor Frankenstein inherits the family castle and repeats his grandfather's experiment, in a black-and-white horror parody.",
}
src = sys.argv[1]
out = os.path.join(os.path.dirname(__file__), '..', '..', 'assets', 'sample', 'movielens-demo.json')

def rows(name):
    with open(os.path.join(src, name), newline='', encoding='utf-8') as f:
        r = csv.reader(f); next(r); return list(r)

movies = {m: (t, g) for m, t, g in rows('movies.csv')}
counts = collections.defaultdict(collections.Counter)
for _, m, tag, _ in rows('tags.csv'):
    t = ' '.join(tag.split()).lower()
    if t: counts[m][t] += 1
by_user = collections.defaultdict(list)
for u, m, r, t in rows('ratings.csv'):
    if u in USERS and float(r) >= 4: by_user[u].append((m, float(r), int(t)))

def info(m):
    title, g = movies[m]
    genres = [] if g == '(no genres listed)' else g.split('|')
    match = re.match(r'^(.*?)\s*\((\d{4})(?:-\d{4})?\)\s*$', title)
    clean, year = (match.group(1), int(match.group(2))) if match else (title.strip(), None)
    kw = [t for t, _ in sorted(counts[m].items(), key=lambda kv: (-kv[1], kv[0]))][:5]
    for x in genres:
        if len(kw) >= 5: break
        if x.lower() not in kw: kw.append(x.lower())
    d = {'id': m, 'title': clean, 'genres': genres, 'keywords': kw}
    if year is not None: d['year'] = year
    return d

samples = []
for u in USERS:
    pos = sorted(sorted(by_user[u], key=lambda x: int(x[0])), key=lambda x: (-x[1], -x[2]))
    h = min(3, len(pos) - 1)
    target = info(pos[h][0]); del target['keywords']
    target['description'] = DESCRIPTIONS[pos[h][0]]
    samples.append({'user': u, 'history': [info(x[0]) for x in pos[:h]], 'target': target})

doc = {
    'source': 'MovieLens ml-latest-small (GroupLens, 2018 release); see assets/sample/README.md for licence and citation',
    'protocol': 'official',
    'samples': samples,
}
with open(out, 'w', encoding='utf-8') as f:
    json.dump(doc, f, indent=2, ensure_ascii=False); f.write('\n')
