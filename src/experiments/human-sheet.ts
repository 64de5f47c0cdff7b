/**
 * Pairwise A/B sheets for human evaluation (`pmg eval --human-sheet`): for each pair of methods and each
 * sample that has both outputs, one question showing the user's history, the target, and the two outputs
 * as "A" and "B" in a seeded random order. Images are copied under neutral names (`img/<n>-A.png`), so the
 * page does not reveal which method made which side; `key.csv` says which side is which.
 * Layout: `<out>/human/<a>-vs-<b>/index.html`, `key.csv`, `img/`; written to a temporary folder and renamed.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { SeededRandom } from '../core/random.js';
import { PmgError } from '../errors/pmg-error.js';
import { esc } from './chart-svg.js';
import { csvField } from './results-csv.js';
import { EVAL_METHODS, type EvalMethod } from './run-config.js';
import { replaceFolderAtomic } from '../core/atomic-write.js';
import type { ResultRow, RunStore } from './run-store.js';

export interface PairSide {
  method: EvalMethod;
  alpha: number | null;
}

export interface HumanSheetResult {
  dir: string;
  html: string;
  key: string;
  questions: number;
}

/**
 * Parse `--pairs` ("pmg:target-only,pmg@0.8:keywords"). A pmg side without `@α` takes the run's α closest
 * to 2/3 (the official value).
 */
export function parsePairs(text: string, methods: readonly EvalMethod[], alphas: readonly number[]): [PairSide, PairSide][] {
  const pairs = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (!pairs.length) throw new PmgError('invalid-argument', `pairs is empty; give pairs like pmg:target-only`, { details: { field: 'pairs' } });
  return pairs.map((pair) => {
    const parts = pair.split(':');
    if (parts.length !== 2)
      throw new PmgError('invalid-argument', `pairs: '${pair}' is not METHOD:METHOD (e.g. pmg:target-only)`, { details: { field: 'pairs' } });
    const sides = parts.map((p) => parseSide(p.trim(), methods, alphas)) as [PairSide, PairSide];
    if (sides[0].method === sides[1].method && sides[0].alpha === sides[1].alpha)
      throw new PmgError('invalid-argument', `pairs: '${pair}' compares a method with itself`, { details: { field: 'pairs' } });
    return sides;
  });
}

function parseSide(text: string, methods: readonly EvalMethod[], alphas: readonly number[]): PairSide {
  const [name, alphaText] = text.split('@') as [string, string | undefined];
  if (!(EVAL_METHODS as readonly string[]).includes(name))
    throw new PmgError('invalid-argument', `pairs: unknown method '${name}'; use ${EVAL_METHODS.join(', ')}`, { details: { field: 'pairs' } });
  const method = name as EvalMethod;
  if (!methods.includes(method))
    throw new PmgError('invalid-argument', `pairs names '${method}', which this run did not evaluate (it has ${methods.join(', ')})`, {
      details: { field: 'pairs' },
    });
  if (method !== 'pmg') {
    if (alphaText !== undefined) throw new PmgError('invalid-argument', `pairs: '${text}': only pmg takes @α`, { details: { field: 'pairs' } });
    return { method, alpha: null };
  }
  if (alphaText === undefined) {
    const alpha = [...alphas].sort((a, b) => Math.abs(a - 2 / 3) - Math.abs(b - 2 / 3) || a - b)[0]!;
    return { method, alpha };
  }
  const alpha = Number(alphaText);
  if (!alphas.includes(alpha))
    throw new PmgError('invalid-argument', `pairs: α ${alphaText} is not one of this run's α values (${alphas.join(', ')})`, { details: { field: 'pairs' } });
  return { method, alpha };
}

function sideLabel(side: PairSide): string {
  return side.alpha === null ? side.method : `${side.method}@${side.alpha}`;
}

export async function writeHumanSheets(store: RunStore, outDir: string, pairs: readonly [PairSide, PairSide][], seed: number): Promise<HumanSheetResult[]> {
  const rows = store.results();
  const samples = store.samples();
  const find = (sampleId: string, side: PairSide): ResultRow | undefined =>
    rows.find((r) => r.sampleId === sampleId && r.method === side.method && r.alpha === side.alpha);
  const results: HumanSheetResult[] = [];
  for (const [a, b] of pairs) {
    const name = `${sideLabel(a)}-vs-${sideLabel(b)}`.replace(/[^A-Za-z0-9.@_-]/g, '_');
    const dir = join(outDir, 'human', name);
    const random = new SeededRandom(seed);
    const key = [['question', 'sample', 'A', 'B', 'A_image', 'B_image'].join(',')];
    const body: string[] = [];
    let n = 0;
    await replaceFolderAtomic(dir, async (temporary) => {
      await mkdir(join(temporary, 'img'));
      for (const sample of samples) {
        const ra = find(sample.id, a);
        const rb = find(sample.id, b);
        if (!ra || !rb) continue;
        n++;
        const swap = random.nextFloat() < 0.5;
        const [left, right] = swap ? [rb, ra] : [ra, rb];
        const [leftSide, rightSide] = swap ? [b, a] : [a, b];
        const q = String(n).padStart(3, '0');
        const copy = async (from: string, to: string) => {
          await copyFile(from, join(temporary, 'img', to));
          return `img/${to}`;
        };
        const imgA = await copy(join(outDir, left.image), `${q}-A.png`);
        const imgB = await copy(join(outDir, right.image), `${q}-B.png`);
        const history: string[] = [];
        for (const [i, p] of sample.historyImages.entries()) if (existsSync(p)) history.push(await copy(p, `${q}-h${i}${extname(p).toLowerCase()}`));
        const target =
          sample.targetImage && existsSync(sample.targetImage)
            ? await copy(sample.targetImage, `${q}-t${extname(sample.targetImage).toLowerCase()}`)
            : undefined;
        key.push([q, sample.id, sideLabel(leftSide), sideLabel(rightSide), imgA, imgB].map(csvField).join(','));
        body.push(
          `<section data-q="${q}"><h2>Question ${q}</h2>`,
          `<p>This user liked:</p><div class="row">${history.map((src) => `<img src="${src}" alt="history">`).join('')}</div>`,
          `<p>Target${sample.title ? `: <b>${esc(sample.title)}</b>` : ''}</p>${target ? `<div class="row"><img src="${target}" alt="target"></div>` : ''}`,
          `<p>Which picture suits <b>this user</b> better while still showing the target?</p>`,
          `<div class="row"><figure><img class="big" src="${imgA}" alt="A"><figcaption>A</figcaption></figure><figure><img class="big" src="${imgB}" alt="B"><figcaption>B</figcaption></figure></div>`,
          `<label><input type="radio" name="q${q}" value="A"> A</label> <label><input type="radio" name="q${q}" value="B"> B</label> <label><input type="radio" name="q${q}" value="same"> no difference</label>`,
          '</section>',
        );
      }
      if (n === 0) throw new PmgError('invalid-argument', `no sample has outputs of both ${sideLabel(a)} and ${sideLabel(b)}; finish the run first`);
      const html = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>PMG A/B comparison</title>',
        '<style>body{font-family:sans-serif;margin:24px;max-width:900px}.row{display:flex;gap:8px;flex-wrap:wrap}img{width:96px;height:96px;object-fit:cover}img.big{width:256px;height:256px}section{border-top:1px solid #ccc;padding:8px 0}</style>',
        '</head><body><h1>Which image fits the user better?</h1>',
        `<p>${n} questions. Pick A, B or "no difference" for each, then press "Save answers" and send the CSV file.</p>`,
        ...body,
        '<p><button id="save">Save answers</button></p>',
        '<script>document.getElementById("save").onclick=function(){var rows=["question,answer"];document.querySelectorAll("section").forEach(function(s){var q=s.dataset.q;var c=s.querySelector("input:checked");rows.push(q+","+(c?c.value:""));});var a=document.createElement("a");a.href=URL.createObjectURL(new Blob([rows.join("\\n")+"\\n"],{type:"text/csv"}));a.download="answers.csv";a.click();};</script>',
        '</body></html>',
        '',
      ].join('\n');
      await writeFile(join(temporary, 'index.html'), html);
      await writeFile(join(temporary, 'key.csv'), `${key.join('\n')}\n`);
    });
    results.push({ dir, html: join(dir, 'index.html'), key: join(dir, 'key.csv'), questions: n });
  }
  return results;
}
