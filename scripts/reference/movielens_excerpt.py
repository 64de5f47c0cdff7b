#!/usr/bin/env python3
"""Independent reference for pmg's MovieLens loader and protocols (src/data/movielens.ts).

Run once by hand:  python3 scripts/reference/movielens_excerpt.py /path/to/ml-latest-small
It writes test-data/movielens-excerpt/{ratings,movies,tags,links}.csv (a few users' ratings, every
movie they rated, every tag row of those movies, their links) and expected.json, which holds the
official-protocol history/target ids, sliding-window samples and per-movie keywords computed here
on the FULL dataset with Python's csv module and stable sorts (no pmg code involved).
Tests compare pmg's output on the excerpt with expected.json; they never run Python.
"""
import collections, csv, json, os, sys

USERS = ['53', '54', '157', '194', '207', '214', '431', '442']
src = sys.argv[1]
out = os.path.join(os.path.dirname(__file__), '..', '..', 'test-data', 'movielens-excerpt')

def read(name):
    with open(os.path.join(src, name), newline='', encoding='utf-8') as f:
        r = csv.reader(f)
        header = next(r)
        return header, list(r)

rh, ratings = read('ratings.csv')
mh, movies = read('movies.csv')
th, tags = read('tags.csv')
lh, links = read('links.csv')

# --- protocols on the full file -------------------------------------------------------------
by_user = collections.defaultdict(list)
for u, m, r, t in ratings:  # file order: by user, then movieId
    by_user[u].append((u, int(m), float(r), int(t)))

official = {}
for u in USERS:
    pos = [x for x in by_user[u] if x[2] >= 4]
    if len(pos) <= 1:
        official[u] = None
        continue
    # stable sorts: time desc, then rating desc; equal (rating, time) keep file order = movieId asc
    pos = sorted(pos, key=lambda x: x[1])
    pos = sorted(pos, key=lambda x: (-x[2], -x[3]))
    h = min(3, len(pos) - 1)
    official[u] = {'history': [str(x[1]) for x in pos[:h]], 'target': str(pos[h][1]), 'positives': len(pos)}

windows = {}
for u in USERS:
    pos = sorted([x for x in by_user[u] if x[2] >= 4], key=lambda x: (x[3], x[1]))
    ids = [str(x[1]) for x in pos]
    windows[u] = [{'history': ids[i:i + 5], 'target': ids[i + 5]} for i in range(0, len(ids) - 5)]

# --- keywords: 5 most frequent tags (lower-cased, trimmed, inner spaces collapsed; ties alphabetical),
#     filled up with lower-cased genres not already present -------------------------------------
genres = {m: ([] if g == '(no genres listed)' else g.split('|')) for m, _, g in movies}
counts = collections.defaultdict(collections.Counter)
for _, m, tag, _ in tags:
    t = ' '.join(tag.split()).lower()
    if t:
        counts[m][t] += 1
def keywords(m):
    kw = [t for t, _ in sorted(counts[m].items(), key=lambda kv: (-kv[1], kv[0]))][:5]
    for g in genres[m]:
        if len(kw) >= 5:
            break
        if g.lower() not in kw:
            kw.append(g.lower())
    return kw

# --- excerpt ---------------------------------------------------------------------------------
keep_movies = {m for u in USERS for (_, m, _, _) in by_user[u]}
keep_movies_s = {str(m) for m in keep_movies}
os.makedirs(out, exist_ok=True)
def write(name, header, rows):
    with open(os.path.join(out, name), 'w', newline='', encoding='utf-8') as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(header)
        w.writerows(rows)
write('ratings.csv', rh, [r for r in ratings if r[0] in USERS])
write('movies.csv', mh, [r for r in movies if r[0] in keep_movies_s])
write('tags.csv', th, [r for r in tags if r[1] in keep_movies_s])
write('links.csv', lh, [r for r in links if r[0] in keep_movies_s])

sample_movies = sorted({i for v in official.values() if v for i in v['history'] + [v['target']]}, key=int)
expected = {
    'source': 'ml-latest-small (2018 release, 610 users), computed on the full ratings.csv/tags.csv',
    'script': 'scripts/reference/movielens_excerpt.py',
    'users': USERS,
    'official': official,
    'windows': windows,
    'keywords': {m: keywords(m) for m in sample_movies},
}
with open(os.path.join(out, 'expected.json'), 'w', encoding='utf-8') as f:
    json.dump(expected, f, indent=1, ensure_ascii=False)
    f.write('\n')
print(json.dumps(official, indent=1))
