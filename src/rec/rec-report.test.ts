import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { DEFAULT_REC_OPTIONS, runRecExperiment, type RecReport } from './rec-experiment.js';
import { deltaText, writeRecReport } from './rec-report.js';
import { randomDense, syntheticRecDataset } from './synthetic-rec-dataset.js';

const { dataset, signal } = syntheticRecDataset({ users: 60, items: 40, ratingsPerUser: 20, negatives: 10, seed: 6 });
let cached: RecReport | undefined;
async function report(): Promise<RecReport> {
  cached ??= await runRecExperiment(
    dataset,
    [
      { name: 'none', description: 'ids + genres' },
      { name: 'pmg', description: 'helpful <block>', dense: signal(4) },
      { name: 'target-only', description: 'random-weight images', dense: randomDense(dataset.rows.length, 4, 3, 'target-only') },
      { name: 'random', description: 'random vectors', dense: randomDense(dataset.rows.length, 4, 4) },
    ],
    { ...DEFAULT_REC_OPTIONS, factors: 4, epochs: 6, bootstrap: 100 },
  );
  return cached;
}

test('writeRecReport writes report.json (the report as is), report.md and report.html with the table, intervals, the control sentence and an inline plot', async () => {
  const r = await report();
  const dir = mkdtempSync(join(tmpdir(), 'pmg-rec-report-'));
  try {
    const files = await writeRecReport(join(dir, 'out'), r);
    assert.deepEqual(files, { markdown: join(dir, 'out', 'report.md'), html: join(dir, 'out', 'report.html'), json: join(dir, 'out', 'report.json') });
    assert.deepEqual(JSON.parse(readFileSync(files.json, 'utf8')), JSON.parse(JSON.stringify(r)));
    const md = readFileSync(files.markdown, 'utf8');
    assert.ok(md.includes(`**${r.conclusion.sentence}**`));
    assert.match(
      md,
      /\| set \| dense width \| AUC ↑ \| log loss ↓ \| GAUC ↑ \| Recall@10 ↑ \| NDCG@10 ↑ \| ΔAUC vs none \[95% CI\] \| ΔAUC vs random \[95% CI\] \|/,
    );
    for (const s of r.sets) assert.ok(md.includes(`| ${s.name} | ${s.denseWidth} | ${s.metrics.auc!.toFixed(4)} |`), s.name);
    assert.ok(md.includes(deltaText(r.sets[1]!.vsNone!.auc)));
    assert.ok(md.includes('## Differences against the random control'));
    const html = readFileSync(files.html, 'utf8');
    assert.ok(html.includes('<svg xmlns="http://www.w3.org/2000/svg"'));
    assert.equal((html.match(/<circle /g) ?? []).length, 3 * 2 + 2, 'a ΔAUC and a ΔGAUC dot per set but none, plus the legend');
    assert.ok(html.includes('helpful &lt;block&gt;'), 'descriptions are escaped');
    assert.ok(html.includes('class="better"'));
    assert.deepEqual(readdirSync(join(dir, 'out')).sort(), ['report.html', 'report.json', 'report.md']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a delta reads as value, interval and direction', () => {
  assert.equal(deltaText({ observed: 0.0123, low: 0.004, high: 0.02, resamples: 10, significance: 'better' }), '+0.0123 [+0.0040, +0.0200] (better)');
  assert.equal(deltaText({ observed: -0.001, low: -0.003, high: 0.002, resamples: 10, significance: 'none' }), '−0.0010 [−0.0030, +0.0020]');
  assert.equal(deltaText({ observed: null, low: null, high: null, resamples: 0, significance: 'none' }), 'n/a');
});

test('an output path that cannot be a folder gives one file-system error and writes nothing', async () => {
  const r = await report();
  const dir = mkdtempSync(join(tmpdir(), 'pmg-rec-report-'));
  try {
    const file = join(dir, 'taken');
    writeFileSync(file, 'x');
    await assert.rejects(writeRecReport(file, r), (e: unknown) => e instanceof PmgError && e.code === 'file-system' && e.message.includes(file));
    assert.deepEqual(readdirSync(dir), ['taken']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
