import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deadPid } from '../testing/dead-pid.js';
import { removeOrphanTemporaries, writeAtomic } from './atomic-files.js';

test('writeAtomic leaves only the finished file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pmg-atomic-'));
  try {
    await writeAtomic(join(dir, 'a', 'report.html'), '<p>hi</p>');
    assert.equal(readFileSync(join(dir, 'a', 'report.html'), 'utf8'), '<p>hi</p>');
    assert.deepEqual(readdirSync(join(dir, 'a')), ['report.html']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('orphan temporaries of exited processes are removed at any depth; live ones and other files stay', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pmg-orphans-'));
  try {
    const dead = deadPid();
    mkdirSync(join(dir, 'images', 'movielens_user-53'), { recursive: true });
    mkdirSync(join(dir, 'human', `pmg-vs-target-only.tmp-${dead}`), { recursive: true });
    const orphans = [`report.html.tmp-${dead}-0a1b2c3d`, `images/movielens_user-53/pmg-c0.png.tmp-${dead}-deadbeef`, `human/pmg-vs-target-only.tmp-${dead}`];
    for (const name of orphans.slice(0, 2)) writeFileSync(join(dir, name), 'half');
    const kept = ['report.html', `report.md.tmp-${process.pid}-01234567`, 'notes.tmp-draft', 'images/movielens_user-53/pmg-c0.png'];
    for (const name of kept) writeFileSync(join(dir, name), 'x');
    const removed = await removeOrphanTemporaries(dir);
    assert.deepEqual(removed, orphans.map((name) => join(dir, name)).sort());
    for (const name of orphans) assert.equal(existsSync(join(dir, name)), false, `${name} removed`);
    for (const name of kept) assert.equal(existsSync(join(dir, name)), true, `${name} kept`);
    assert.deepEqual(await removeOrphanTemporaries(join(dir, 'missing')), [], 'a missing folder is fine');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
