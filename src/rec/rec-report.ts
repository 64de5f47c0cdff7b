/**
 * The report of `pmg rec`: report.json (the RecReport as is), report.md and report.html (the results table, the
 * differences against 'none' and the 'random' control with their 95% paired-bootstrap intervals, an inline SVG plot of
 * ΔAUC and ΔGAUC per set, and one sentence saying whether any set beats the control). The three files are written all
 * or none (core/atomic-write.ts).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { jsonFileText, writeFilesAtomicSync } from '../core/atomic-write.js';
import { PmgError } from '../errors/pmg-error.js';
import { esc, intervalChartSvg, SERIES_COLORS } from '../experiments/chart-svg.js';
import { REC_METRICS, type RecMetricName } from './rec-evaluation.js';
import type { RecDelta, RecDeltas, RecReport, RecSetResult } from './rec-experiment.js';

export interface RecReportFiles {
  markdown: string;
  html: string;
  json: string;
}

export async function writeRecReport(outDir: string, report: RecReport): Promise<RecReportFiles> {
  const files: RecReportFiles = { markdown: join(outDir, 'report.md'), html: join(outDir, 'report.html'), json: join(outDir, 'report.json') };
  try {
    mkdirSync(outDir, { recursive: true });
    writeFilesAtomicSync([
      [files.json, jsonFileText(report)],
      [files.markdown, recReportMarkdown(report)],
      [files.html, recReportHtml(report)],
    ]);
  } catch (error) {
    throw new PmgError('file-system', `cannot write the rec report to ${outDir}: ${(error as Error).message}; choose another output folder`, { cause: error });
  }
  return files;
}

function metricTitle(metric: RecMetricName, k: number): string {
  return { auc: 'AUC ↑', logLoss: 'log loss ↓', gauc: 'GAUC ↑', recall: `Recall@${k} ↑`, ndcg: `NDCG@${k} ↑` }[metric];
}

function value(v: number | null): string {
  return v === null ? 'n/a' : v.toFixed(4);
}

function signed(v: number | null): string {
  return v === null ? 'n/a' : `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(4)}`;
}

/** `+0.0123 [+0.0040, +0.0201]`, with "better"/"worse" when the interval excludes 0. */
export function deltaText(d: RecDelta | undefined): string {
  if (!d || d.observed === null) return 'n/a';
  const interval = d.low === null || d.high === null ? '' : ` [${signed(d.low)}, ${signed(d.high)}]`;
  return `${signed(d.observed)}${interval}${d.significance === 'none' ? '' : ` (${d.significance})`}`;
}

function runs(options: RecReport['options']): string {
  return options.replicates > 1
    ? `${options.replicates} training runs per set (seeds ${options.seed}–${options.seed + options.replicates - 1}), metrics are their mean`
    : `one training run per set (seed ${options.seed})`;
}

function runAucs(s: RecSetResult): string {
  return s.training.replicates.length > 1 ? `; test AUC per run ${s.training.replicates.map((r) => value(r.auc)).join(', ')}` : '';
}

function describe(report: RecReport): string[] {
  const { stats, selection, options } = report;
  const subsample = [selection.users === undefined ? '' : `${selection.users} users`, selection.items === undefined ? '' : `${selection.items} items`]
    .filter(Boolean)
    .join(', ');
  return [
    `Dataset: ${selection.dataset}, ${stats.users} users, ${stats.items} items${subsample ? ` (subsample: ${subsample})` : ''}; per-user time split, val ${selection.valFraction}, test ${selection.testFraction}; ${selection.negatives} sampled unrated items per test user; selection seed ${selection.seed}.`,
    `Rows: train ${stats.rows.train} (${stats.positives.train} liked), val ${stats.rows.val} (${stats.positives.val}), test ${stats.rows.test} (${stats.positives.test}), rank ${stats.rows.rank}.`,
    `Model: factorization machine, ${options.factors} factors, Adagrad lr ${options.learningRate}, L2 ${options.l2}, at most ${options.epochs} epochs, early stopping on val log loss (patience ${options.patience}); ${runs(options)}; the same for every set.`,
    `Metrics: AUC, log loss and GAUC (${stats.gaucUsers} users with both labels) on the test rows; Recall@${options.k} and NDCG@${options.k} over each user's test rows + sampled rows (${stats.rankingUsers} users with a liked test row).`,
    `Intervals: 95% percentile intervals of the difference, ${options.bootstrap} bootstrap resamples of the ${stats.evaluatedUsers} test users (paired: every set on the same users)${options.replicates > 1 ? ` and of each set's ${options.replicates} training runs, so training noise widens them` : ''}.`,
  ];
}

interface Table {
  head: string[];
  rows: Array<{ cells: string[]; classes: string[] }>;
}

function resultsTable(report: RecReport): Table {
  const k = report.options.k;
  const head = ['set', 'dense width', ...REC_METRICS.map((m) => metricTitle(m, k)), `ΔAUC vs ${report.baseline} [95% CI]`];
  if (report.control) head.push(`ΔAUC vs ${report.control} [95% CI]`);
  head.push('epochs (best)', 'ms/epoch');
  const rows = report.sets.map((s) => {
    const cells = [s.name, String(s.denseWidth), ...REC_METRICS.map((m) => value(s.metrics[m])), s.vsNone ? deltaText(s.vsNone.auc) : '—'];
    const classes = ['', '', ...REC_METRICS.map(() => ''), s.vsNone?.auc.significance ?? ''];
    if (report.control) {
      cells.push(s.vsRandom ? deltaText(s.vsRandom.auc) : '—');
      classes.push(s.vsRandom?.auc.significance ?? '');
    }
    cells.push(`${s.training.epochsRun} (${s.training.bestEpoch})`, s.training.msPerEpoch.toFixed(0));
    classes.push('', '');
    return { cells, classes };
  });
  return { head, rows };
}

function deltaTable(report: RecReport, pick: (s: RecSetResult) => RecDeltas | null): Table {
  const head = ['set', ...REC_METRICS.map((m) => `Δ ${metricTitle(m, report.options.k)}`)];
  const rows = report.sets.flatMap((s) => {
    const d = pick(s);
    if (!d) return [];
    return [{ cells: [s.name, ...REC_METRICS.map((m) => deltaText(d[m]))], classes: ['', ...REC_METRICS.map((m) => d[m].significance)] }];
  });
  return { head, rows };
}

function markdownTable(table: Table): string[] {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return [
    `| ${table.head.map(cell).join(' | ')} |`,
    `|${table.head.map(() => '---|').join('')}`,
    ...table.rows.map((r) => `| ${r.cells.map(cell).join(' | ')} |`),
  ];
}

function htmlTable(table: Table): string {
  return [
    `<table><tr>${table.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`,
    ...table.rows.map(
      (r) => `<tr>${r.cells.map((c, i) => `<td${r.classes[i] && r.classes[i] !== 'none' ? ` class="${r.classes[i]}"` : ''}>${esc(c)}</td>`).join('')}</tr>`,
    ),
    '</table>',
  ].join('\n');
}

function sections(report: RecReport): Array<{ title: string; note: string; table: Table }> {
  const out = [
    {
      title: 'Results',
      note: 'Metrics of each feature set on the test users; Δ columns: difference from the named set with its 95% interval.',
      table: resultsTable(report),
    },
  ];
  out.push({
    title: `Differences against ${report.baseline}`,
    note: `Model minus '${report.baseline}' (ids + genres) on the same users; "better"/"worse" when the 95% interval excludes 0.`,
    table: deltaTable(report, (s) => s.vsNone),
  });
  if (report.control)
    out.push({
      title: `Differences against the ${report.control} control`,
      note: `Model minus '${report.control}' (random vectors of the same width): a gain that does not beat this control is not evidence for the features.`,
      table: deltaTable(report, (s) => s.vsRandom),
    });
  return out;
}

function chart(report: RecReport): string | undefined {
  const rows = report.sets
    .filter((s) => s.vsNone)
    .map((s) => ({
      label: s.name,
      values: (['auc', 'gauc'] as const).map((m) => {
        const d = s.vsNone![m];
        return d.observed === null ? null : { value: d.observed, low: d.low ?? NaN, high: d.high ?? NaN };
      }),
    }));
  if (!rows.length) return undefined;
  return intervalChartSvg({
    title: `Difference against '${report.baseline}' (95% paired-bootstrap interval)`,
    xLabel: `model − ${report.baseline}`,
    series: [
      { name: 'ΔAUC', color: SERIES_COLORS[0]! },
      { name: 'ΔGAUC', color: SERIES_COLORS[1]! },
    ],
    rows,
  });
}

export function recReportMarkdown(report: RecReport): string {
  const lines = ['# Recommendation with generated features (pmg rec)', '', `**${report.conclusion.sentence}**`, ''];
  for (const line of describe(report)) lines.push(`- ${line}`);
  for (const section of sections(report)) lines.push('', `## ${section.title}`, '', section.note, '', ...markdownTable(section.table));
  lines.push('', '## Feature sets', '');
  for (const s of report.sets) lines.push(`- **${s.name}** (${s.columns} columns${runAucs(s)}): ${s.description}`);
  lines.push('', 'The plot of ΔAUC and ΔGAUC with their intervals is in report.html; every number is in report.json.', '');
  return lines.join('\n');
}

export function recReportHtml(report: RecReport): string {
  const svg = chart(report);
  const h = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>pmg rec report</title>',
    '<style>body{font-family:sans-serif;margin:24px;max-width:1400px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}.better{color:#1a7f37}.worse{color:#cf222e}.conclusion{font-weight:bold}</style>',
    '</head><body>',
    '<h1>Recommendation with generated features (pmg rec)</h1>',
    `<p class="conclusion">${esc(report.conclusion.sentence)}</p>`,
    `<ul>${describe(report)
      .map((l) => `<li>${esc(l)}</li>`)
      .join('')}</ul>`,
  ];
  for (const section of sections(report)) h.push(`<h2>${esc(section.title)}</h2>`, `<p>${esc(section.note)}</p>`, htmlTable(section.table));
  if (svg) h.push('<h2>Plot</h2>', `<figure>${svg}</figure>`);
  h.push(
    '<h2>Feature sets</h2>',
    '<ul>',
    ...report.sets.map((s) => `<li><b>${esc(s.name)}</b> (${s.columns} columns${esc(runAucs(s))}): ${esc(s.description)}</li>`),
    '</ul>',
  );
  h.push('<p>Every number: <a href="report.json">report.json</a>.</p>', '</body></html>', '');
  return h.join('\n');
}
