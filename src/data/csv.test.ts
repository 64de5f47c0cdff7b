import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { csvRecords, csvRows } from './csv.js';

const dir = mkdtempSync(join(tmpdir(), 'pmg-csv-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function rows(path: string): Promise<{ line: number; fields: string[] }[]> {
  const out = [];
  for await (const row of csvRows(path)) out.push(row);
  return out;
}

async function rejectsAt(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(
    async () => {
      for await (const _ of csvRecords(path)) void _;
    },
    (error: unknown) => error instanceof PmgError && error.code === 'invalid-input' && pattern.test(error.message),
  );
}

test('quoted fields hold commas, doubled quotes and line breaks', async () => {
  const path = file('a.csv', 'id,title,genres\n1,"American President, The (1995)",Comedy\n2,"He said ""hi""",Drama\n3,"two\nlines",X\n4,,\n');
  assert.deepEqual(await rows(path), [
    { line: 1, fields: ['id', 'title', 'genres'] },
    { line: 2, fields: ['1', 'American President, The (1995)', 'Comedy'] },
    { line: 3, fields: ['2', 'He said "hi"', 'Drama'] },
    { line: 4, fields: ['3', 'two\nlines', 'X'] },
    { line: 6, fields: ['4', '', ''] },
  ]);
});

test('CRLF and LF give the same records; a BOM and blank lines are ignored', async () => {
  const text = 'a,b\n1,"x, y"\n\n2,"q ""r"""\n';
  const lf = [];
  for await (const r of csvRecords(file('lf.csv', text))) lf.push(r);
  const crlf = [];
  for await (const r of csvRecords(file('crlf.csv', `\ufeff${text.replace(/\n/g, '\r\n')}`))) crlf.push(r);
  assert.deepEqual(crlf, lf);
  assert.deepEqual(lf[1]!.values, { a: '2', b: 'q "r"' });
  assert.equal(lf[1]!.line, 4);
});

test('malformed lines are errors that name the file and line', async () => {
  await rejectsAt(file('stray.csv', 'a,b\n1,2\n3,x"y\n'), /stray\.csv:3: stray quote/);
  await rejectsAt(file('after.csv', 'a,b\n1,2\n3,4\n5,"x"y\n'), /after\.csv:4: unexpected character 'y' after a closing quote/);
  await rejectsAt(file('open.csv', 'a,b\n1,2\n3,"never closed\n4,5\n'), /open\.csv:3: a quoted field is never closed/);
  await rejectsAt(file('count.csv', 'a,b\n1,2\n3,4,5\n'), /count\.csv:3: expected 2 fields \(a,b\), found 3/);
  await rejectsAt(file('empty.csv', ''), /empty\.csv: the file is empty/);
});

test('missing columns and missing files', async () => {
  await assert.rejects(async () => {
    for await (const _ of csvRecords(file('cols.csv', 'x,y\n1,2\n'), ['userId', 'y'])) void _;
  }, /cols\.csv:1: header lacks column\(s\) userId/);
  await assert.rejects(
    async () => {
      for await (const _ of csvRows(join(dir, 'nope.csv'))) void _;
    },
    (e: unknown) => e instanceof PmgError && e.code === 'file-not-found' && /nope\.csv/.test(e.message),
  );
});
