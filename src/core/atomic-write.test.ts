import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deadPid } from '../testing/dead-pid.js';
import {
  removeOrphanTemporaries,
  replaceFolderAtomic,
  swapFolderSync,
  writeAtomic,
  writeFileAtomic,
  writeFileAtomicSync,
  writeFilesAtomicSync,
  writeJsonAtomic,
  writeJsonAtomicSync,
} from './atomic-write.js';

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

test('a failed atomic write leaves the previous content intact and no temporary behind', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pmg-atomic-fail-'));
  try {
    // The target is a non-empty folder: the rename fails after the temporary was written.
    mkdirSync(join(dir, 'taken'));
    writeFileSync(join(dir, 'taken', 'old.txt'), 'old');
    await assert.rejects(writeFileAtomic(join(dir, 'taken'), 'new'));
    assert.throws(() => writeFileAtomicSync(join(dir, 'taken'), 'new'));
    await assert.rejects(writeJsonAtomic(join(dir, 'taken'), { a: 1 }));
    assert.equal(readFileSync(join(dir, 'taken', 'old.txt'), 'utf8'), 'old');
    assert.deepEqual(readdirSync(dir), ['taken'], 'no temporary left');
    // Replacing a file: the new content, and nothing else in the folder.
    writeFileSync(join(dir, 'a.json'), 'old');
    writeJsonAtomicSync(join(dir, 'a.json'), { a: [1, 2] }, { durable: true });
    assert.equal(readFileSync(join(dir, 'a.json'), 'utf8'), '{\n  "a": [\n    1,\n    2\n  ]\n}\n');
    await writeFileAtomic(join(dir, 'a.json'), 'async', { durable: true });
    assert.equal(readFileSync(join(dir, 'a.json'), 'utf8'), 'async');
    assert.deepEqual(readdirSync(dir).sort(), ['a.json', 'taken']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('writeFilesAtomicSync writes every file or none', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pmg-atomic-all-'));
  try {
    writeFileSync(join(dir, 'a.png'), 'old a');
    assert.throws(() =>
      writeFilesAtomicSync([
        [join(dir, 'a.png'), 'new a'],
        [join(dir, 'missing', 'b.png'), 'new b'],
      ]),
    );
    assert.equal(readFileSync(join(dir, 'a.png'), 'utf8'), 'old a', 'the first file keeps its content when a later one cannot be written');
    assert.deepEqual(readdirSync(dir), ['a.png']);
    writeFilesAtomicSync([
      [join(dir, 'a.png'), 'new a'],
      [join(dir, 'b.png'), 'new b'],
    ]);
    assert.deepEqual(readdirSync(dir).sort(), ['a.png', 'b.png']);
    assert.equal(readFileSync(join(dir, 'b.png'), 'utf8'), 'new b');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('replaceFolderAtomic and swapFolderSync put a whole folder in place; a failure keeps the old one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pmg-atomic-folder-'));
  try {
    const out = join(dir, 'out');
    await replaceFolderAtomic(out, async (temporary) => writeFileSync(join(temporary, 'one.txt'), '1'));
    assert.deepEqual(readdirSync(out), ['one.txt']);
    await assert.rejects(
      replaceFolderAtomic(out, async (temporary) => {
        writeFileSync(join(temporary, 'half.txt'), 'half');
        throw new Error('writer failed');
      }),
      /writer failed/,
    );
    assert.deepEqual(readdirSync(out), ['one.txt'], 'the old folder is untouched');
    assert.deepEqual(readdirSync(dir), ['out'], 'no temporary folder left');
    const staged = join(dir, 'staged');
    mkdirSync(staged);
    writeFileSync(join(staged, 'two.txt'), '2');
    swapFolderSync(staged, out);
    assert.deepEqual(readdirSync(out), ['two.txt']);
    assert.deepEqual(readdirSync(dir), ['out'], 'the previous folder is gone once the new one is in place');
    assert.throws(() => swapFolderSync(join(dir, 'no-such-stage'), out));
    assert.deepEqual(readdirSync(out), ['two.txt'], 'a failed swap restores the previous folder');
    assert.equal(existsSync(`${out}.old-${process.pid}`), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
