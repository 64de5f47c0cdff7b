/**
 * The eval report: `report.md`, `report.html` (charts inline), `chart-<metric>.svg` (linked from the
 * Markdown) and `results.csv`, all made from run.sqlite and written atomically.
 *
 * - Per method (pmg: per α): mean ± half-width of the 95% CI of each metric (Student's t, stats.ts).
 * - Relative change of each mean against target-only, in percent ((m − base) / |base|); for LPIPS a
 *   negative change is closer (better), for the others a positive one.
 * - The α trade-off: for each image metric, personalization (y) against accuracy (x), one point per α,
 *   the baselines as single points.
 * - An image grid per sample: history | target | each method's output.
 */
import { join, relative, sep } from 'node:path';
import { TRANSPARENCY_NOTE } from '../core/image-io.js';
import { SERIES_COLORS, esc, lineChartSvg, type ChartSeries } from './chart-svg.js';
import { EVAL_METRICS, metricColumns, parseColumn, type EvalMetricName } from './eval-metrics.js';
import { resultsCsv } from './results-csv.js';
import type { EvalConfig, EvalMethod } from './run-config.js';
import { writeFileAtomic } from '../core/atomic-write.js';
import type { ResultRow, RunStore, StoredSample, UnitFailure } from './run-store.js';
import { relativeChange, summarize, type Summary } from './stats.js';

export interface GroupStats {
  label: string;
  method: EvalMethod;
  alpha: number | null;
  n: number;
  stats: Record<string, Summary>;
}

export interface ReportData {
  config: EvalConfig;
  samples: StoredSample[];
  rows: ResultRow[];
  skipped: Record<string, number>;
  /** Units that failed on every queue attempt (`pmg eval --queue`); empty otherwise. */
  failures: UnitFailure[];
  columns: string[];
  groups: GroupStats[];
}

export interface ReportFiles {
  markdown: string;
  html: string;
  csv: string;
  charts: string[];
}

/** A row's label: the method (pmg with a soft module: 'pmg+soft'), and α for pmg. */
export function groupLabel(method: string, alpha: number | null, soft = false): string {
  const name = soft && method === 'pmg' ? 'pmg+soft' : method;
  return alpha === null ? name : `${name} α=${alpha}`;
}

export function reportData(store: RunStore): ReportData {
  const config = store.config;
  const rows = store.results();
  const columns = metricColumns(config.metrics as EvalMetricName[]);
  const groups: GroupStats[] = [];
  for (const method of config.methods) {
    for (const alpha of method === 'pmg' ? config.alphas : [null]) {
      const members = rows.filter((r) => r.method === method && r.alpha === alpha);
      const stats: Record<string, Summary> = {};
      for (const c of columns) stats[c] = summarize(members.map((r) => r.metrics[c] ?? NaN));
      groups.push({ label: groupLabel(method, alpha, config.soft !== undefined), method, alpha, n: members.length, stats });
    }
  }
  return { config, samples: store.samples(), rows, skipped: store.skipped(), failures: store.failures(), columns, groups };
}

export async function writeReport(store: RunStore, outDir: string): Promise<ReportFiles> {
  const data = reportData(store);
  const charts = tradeoffCharts(data);
  const files: ReportFiles = { markdown: join(outDir, 'report.md'), html: join(outDir, 'report.html'), csv: join(outDir, 'results.csv'), charts: [] };
  for (const chart of charts) {
    const path = join(outDir, chart.file);
    await writeFileAtomic(path, `${chart.svg}\n`);
    files.charts.push(path);
  }
  await writeFileAtomic(files.csv, resultsCsv(data.rows, data.samples, data.config.metrics as EvalMetricName[]));
  await writeFileAtomic(files.markdown, reportMarkdown(data, charts, outDir));
  await writeFileAtomic(files.html, reportHtml(data, charts, outDir));
  return files;
}

export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const a = Math.abs(value);
  return a >= 100 ? value.toFixed(1) : a >= 10 ? value.toFixed(2) : value.toFixed(4);
}

function cell(s: Summary | undefined): string {
  if (!s || s.n === 0) return 'n/a';
  return Number.isFinite(s.ci95) ? `${formatValue(s.mean)} ± ${formatValue(s.ci95)}` : formatValue(s.mean);
}

function columnTitle(column: string): string {
  const { side, metric, higherIsBetter } = parseColumn(column);
  return `${side === 'personalization' ? 'pers.' : 'acc.'} ${metric.toUpperCase()} ${higherIsBetter ? '↑' : '↓'}`;
}

/** Relative change of each group's mean against target-only, with "better"/"worse" by the metric's direction. */
export function changeCell(group: GroupStats, base: GroupStats, column: string): { text: string; better: boolean | undefined } {
  const change = relativeChange(group.stats[column]?.mean ?? NaN, base.stats[column]?.mean ?? NaN);
  if (!Number.isFinite(change)) return { text: 'n/a', better: undefined };
  const better = change === 0 ? undefined : parseColumn(column).higherIsBetter ? change > 0 : change < 0;
  return { text: `${change > 0 ? '+' : ''}${change.toFixed(1)}%`, better };
}

interface Chart {
  metric: EvalMetricName;
  file: string;
  svg: string;
}

export function tradeoffCharts(data: ReportData): Chart[] {
  const charts: Chart[] = [];
  for (const metric of EVAL_METRICS) {
    const x = `accuracy_${metric.replace(/-/g, '_')}`;
    const y = `personalization_${metric.replace(/-/g, '_')}`;
    if (!data.columns.includes(x) || !data.columns.includes(y)) continue;
    const series: ChartSeries[] = [];
    data.config.methods.forEach((method, i) => {
      const groups = data.groups.filter((g) => g.method === method && g.n > 0);
      if (!groups.length) return;
      series.push({
        name: method,
        color: SERIES_COLORS[i % SERIES_COLORS.length]!,
        line: method === 'pmg',
        points: groups.map((g) => ({ x: g.stats[x]!.mean, y: g.stats[y]!.mean, ...(g.alpha !== null ? { label: `α=${g.alpha}` } : {}) })),
      });
    });
    if (!series.length) continue;
    const dir = parseColumn(x).higherIsBetter ? 'higher = closer' : 'lower = closer';
    const svg = lineChartSvg({
      title: `α trade-off, ${metric.toUpperCase()}`,
      xLabel: `accuracy: ${metric.toUpperCase()} to the target (${dir})`,
      yLabel: `personalization: ${metric.toUpperCase()} to history`,
      series,
    });
    charts.push({ metric, file: `chart-${metric}.svg`, svg });
  }
  return charts;
}

function link(outDir: string, path: string): string {
  const rel = path.startsWith('images/') ? path : relative(outDir, path);
  return rel.split(sep).join('/');
}

function describeRun(data: ReportData): string[] {
  const c = data.config;
  const skipped =
    Object.entries(data.skipped)
      .map(([r, n]) => `${r} ${n}`)
      .join(', ') || 'none';
  const samples = new Set(data.rows.map((r) => r.sampleId)).size;
  return [
    `dataset: ${c.dataset}${c.protocol ? `, protocol ${c.protocol}` : ''}${c.split ? `, split ${c.split}` : ''}${c.limit !== undefined ? `, limit ${c.limit}` : ''}`,
    `samples evaluated: ${samples}; skipped: ${skipped}`,
    ...(data.failures.length
      ? [
          `units failed after every queue attempt: ${data.failures.length} (${data.failures
            .slice(0, 5)
            .map((f) => `${f.sampleId} ${f.method}: ${f.reason}`)
            .join('; ')}${data.failures.length > 5 ? '; …' : ''}); run the same command again to retry them`,
        ]
      : []),
    `methods: ${c.methods.join(', ')}; α (pmg): ${c.alphas.join(', ')}; seed ${c.seed}${c.steps !== undefined ? `; ${c.steps} steps` : ''}${c.size !== undefined ? `; ${c.size}x${c.size} px` : ''}`,
    `models: ${c.models.models ?? 'default preset'}${c.models.llm ? `, llm ${c.models.llm}` : ''}${c.models.generator ? `, generator ${c.models.generator}` : ''}; metric networks: ${c.models.metricsModels ?? 'defaults'}`,
    ...(c.soft
      ? [
          `soft module: ${c.soft.module} (fingerprint ${c.soft.fingerprint.slice(0, 12)}…, P ${c.soft.P}, N ${c.soft.N}, w_s ${c.soft.weight}; LLM body ${c.soft.llmBody}): its N tokens condition the soft rows (target + soft) and the pmg rows (keywords + soft)`,
        ]
      : []),
    "personalization = metric vs the user's history images (mean over history); accuracy = vs the target image, CLIP-T vs the target text",
    `images are read as 8-bit RGB; ${TRANSPARENCY_NOTE} before every metric`,
    "mean ± half-width of the 95% confidence interval of the mean (Student's t, n − 1 degrees of freedom); ↑ higher is closer, ↓ lower is closer",
  ];
}

export function reportMarkdown(data: ReportData, charts: readonly Chart[], outDir: string): string {
  const lines: string[] = ['# PMG eval report', ''];
  for (const line of describeRun(data)) lines.push(`- ${line}`);
  lines.push('', '## Results', '', `| method | n | ${data.columns.map(columnTitle).join(' | ')} |`, `|---|---|${data.columns.map(() => '---|').join('')}`);
  for (const g of data.groups) lines.push(`| ${g.label} | ${g.n} | ${data.columns.map((c) => cell(g.stats[c])).join(' | ')} |`);
  const base = data.groups.find((g) => g.method === 'target-only' && g.n > 0);
  if (base) {
    lines.push('', '## Relative change against target-only', '', '(paper: up to 8% better LPIPS personalization at equal accuracy)', '');
    lines.push(`| method | ${data.columns.map(columnTitle).join(' | ')} |`, `|---|${data.columns.map(() => '---|').join('')}`);
    for (const g of data.groups.filter((x) => x !== base)) {
      lines.push(
        `| ${g.label} | ${data.columns
          .map((c) => {
            const ch = changeCell(g, base, c);
            return ch.better === undefined ? ch.text : `${ch.text} (${ch.better ? 'better' : 'worse'})`;
          })
          .join(' | ')} |`,
      );
    }
  }
  if (charts.length) {
    lines.push('', '## α trade-off', '');
    for (const chart of charts) lines.push(`![α trade-off ${chart.metric}](${chart.file})`, '');
  }
  lines.push('', '## Images', '');
  const methods = data.groups.map((g) => g.label);
  lines.push(`| sample | history | target | ${methods.join(' | ')} |`, `|---|---|---|${methods.map(() => '---|').join('')}`);
  for (const s of data.samples) {
    const rows = data.rows.filter((r) => r.sampleId === s.id);
    if (!rows.length) continue;
    const img = (p: string, alt: string) => `![${alt}](${encodeURI(link(outDir, p))})`;
    const outputs = data.groups.map((g) => {
      const row = rows.find((r) => r.method === g.method && r.alpha === g.alpha);
      return row ? img(row.image, g.label) : '';
    });
    lines.push(
      `| ${s.id}${s.title ? ` (${s.title.replace(/\|/g, '/')})` : ''} | ${s.historyImages.map((p) => img(p, 'history')).join(' ')} | ${s.targetImage ? img(s.targetImage, 'target') : ''} | ${outputs.join(' | ')} |`,
    );
  }
  lines.push('', 'Per-output values: results.csv. Everything: run.sqlite.', '');
  return lines.join('\n');
}

export function reportHtml(data: ReportData, charts: readonly Chart[], outDir: string): string {
  const h: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>PMG eval report</title>',
    '<style>body{font-family:sans-serif;margin:24px;max-width:1400px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;vertical-align:top}th:first-child,td:first-child{text-align:left}.better{color:#1a7f37}.worse{color:#cf222e}.grid img{width:96px;height:96px;object-fit:cover;margin:1px}.grid td{text-align:center}</style>',
    '</head><body>',
    '<h1>PMG eval report</h1>',
    `<ul>${describeRun(data)
      .map((l) => `<li>${esc(l)}</li>`)
      .join('')}</ul>`,
    '<h2>Results</h2>',
    `<table><tr><th>method</th><th>n</th>${data.columns.map((c) => `<th>${esc(columnTitle(c))}</th>`).join('')}</tr>`,
    ...data.groups.map((g) => `<tr><td>${esc(g.label)}</td><td>${g.n}</td>${data.columns.map((c) => `<td>${esc(cell(g.stats[c]))}</td>`).join('')}</tr>`),
    '</table>',
  ];
  const base = data.groups.find((g) => g.method === 'target-only' && g.n > 0);
  if (base) {
    h.push('<h2>Relative change against target-only</h2><p>(paper: up to 8% better LPIPS personalization at equal accuracy)</p>');
    h.push(`<table><tr><th>method</th>${data.columns.map((c) => `<th>${esc(columnTitle(c))}</th>`).join('')}</tr>`);
    for (const g of data.groups.filter((x) => x !== base)) {
      h.push(
        `<tr><td>${esc(g.label)}</td>${data.columns
          .map((c) => {
            const ch = changeCell(g, base, c);
            return `<td class="${ch.better === undefined ? '' : ch.better ? 'better' : 'worse'}">${esc(ch.text)}</td>`;
          })
          .join('')}</tr>`,
      );
    }
    h.push('</table>');
  }
  if (charts.length) {
    h.push('<h2>α trade-off</h2>');
    for (const chart of charts) h.push(`<figure>${chart.svg}</figure>`);
  }
  h.push(
    '<h2>Images</h2>',
    `<table class="grid"><tr><th>sample</th><th>history</th><th>target</th>${data.groups.map((g) => `<th>${esc(g.label)}</th>`).join('')}</tr>`,
  );
  const img = (p: string, alt: string) => `<img src="${esc(encodeURI(link(outDir, p)))}" alt="${esc(alt)}" loading="lazy">`;
  for (const s of data.samples) {
    const rows = data.rows.filter((r) => r.sampleId === s.id);
    if (!rows.length) continue;
    const outputs = data.groups.map((g) => {
      const row = rows.find((r) => r.method === g.method && r.alpha === g.alpha);
      return `<td>${row ? img(row.image, g.label) : ''}</td>`;
    });
    h.push(
      `<tr><td>${esc(s.id)}${s.title ? `<br>${esc(s.title)}` : ''}</td><td>${s.historyImages.map((p) => img(p, 'history')).join('')}</td><td>${s.targetImage ? img(s.targetImage, 'target') : ''}</td>${outputs.join('')}</tr>`,
    );
  }
  h.push('</table>', '<p>Per-output values: <a href="results.csv">results.csv</a>. Everything: run.sqlite.</p>', '</body></html>', '');
  return h.join('\n');
}
