/**
 * A small, dependency-free SVG line/scatter chart for the eval report's α trade-off curve
 * (accuracy on x, personalization on y, one point per α, the baselines as single points).
 * Deterministic output (fixed number formatting), so reports of equal runs are equal.
 */
export interface ChartPoint {
  x: number;
  y: number;
  /** Text next to the point (e.g. 'α=0.67'). */
  label?: string;
}

export interface ChartSeries {
  name: string;
  points: ChartPoint[];
  color: string;
  /** Join the points with a line (the α curve); false for single baseline points. */
  line: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  width?: number;
  height?: number;
}

export const SERIES_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];

export function lineChartSvg(options: ChartOptions): string {
  const width = options.width ?? 520;
  const height = options.height ?? 340;
  const margin = { left: 70, right: 150, top: 36, bottom: 52 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const all = options.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = niceScale(all.map((p) => p.x));
  const ys = niceScale(all.map((p) => p.y));
  const px = (x: number) => margin.left + ((x - xs.min) / (xs.max - xs.min)) * plotW;
  const py = (y: number) => margin.top + plotH - ((y - ys.min) / (ys.max - ys.min)) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" role="img" aria-label="${esc(options.title)}">`,
  );
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${margin.left + plotW / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(options.title)}</text>`);
  out.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  for (const t of xs.ticks) {
    const x = f(px(t));
    out.push(`<line x1="${x}" y1="${margin.top + plotH}" x2="${x}" y2="${margin.top + plotH + 4}" stroke="#888"/>`);
    out.push(`<line x1="${x}" y1="${margin.top}" x2="${x}" y2="${margin.top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${x}" y="${margin.top + plotH + 16}" text-anchor="middle">${tickText(t, xs.step)}</text>`);
  }
  for (const t of ys.ticks) {
    const y = f(py(t));
    out.push(`<line x1="${margin.left - 4}" y1="${y}" x2="${margin.left}" y2="${y}" stroke="#888"/>`);
    out.push(`<line x1="${margin.left}" y1="${y}" x2="${margin.left + plotW}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${margin.left - 7}" y="${f(py(t) + 4)}" text-anchor="end">${tickText(t, ys.step)}</text>`);
  }
  out.push(`<text x="${margin.left + plotW / 2}" y="${height - 12}" text-anchor="middle">${esc(options.xLabel)}</text>`);
  out.push(
    `<text x="16" y="${margin.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${margin.top + plotH / 2})">${esc(options.yLabel)}</text>`,
  );
  options.series.forEach((series, i) => {
    const points = series.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (series.line && points.length > 1) {
      out.push(`<polyline fill="none" stroke="${series.color}" stroke-width="2" points="${points.map((p) => `${f(px(p.x))},${f(py(p.y))}`).join(' ')}"/>`);
    }
    // Points at the same place (e.g. several α choosing the same candidate) share one dot and one label.
    const places = new Map<string, { x: number; y: number; labels: string[] }>();
    for (const p of points) {
      const key = `${f(px(p.x))},${f(py(p.y))}`;
      const place = places.get(key) ?? { x: px(p.x), y: py(p.y), labels: [] };
      if (p.label) place.labels.push(p.label);
      places.set(key, place);
    }
    for (const place of places.values()) {
      out.push(`<circle cx="${f(place.x)}" cy="${f(place.y)}" r="4" fill="${series.color}"/>`);
      if (place.labels.length) out.push(`<text x="${f(place.x + 6)}" y="${f(place.y - 6)}" fill="${series.color}">${esc(place.labels.join(', '))}</text>`);
    }
    const ly = margin.top + 10 + i * 18;
    const lx = margin.left + plotW + 14;
    out.push(`<circle cx="${lx}" cy="${ly}" r="4" fill="${series.color}"/>`);
    out.push(`<text x="${lx + 9}" y="${ly + 4}">${esc(series.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Axis range padded to round ticks (about 5 of them). */
export function niceScale(values: readonly number[]): { min: number; max: number; step: number; ticks: number[] } {
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (hi - lo < 1e-12) {
    const pad = Math.abs(lo) * 0.05 || 0.5;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let t = min; t <= max + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { min, max: max > min ? max : min + step, step, ticks };
}

function tickText(value: number, step: number): string {
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step)) + 1));
  // A tick that is 0 up to rounding (−5.6e-17) reads 0.00, not −0.00.
  return (Math.abs(value) < step * 1e-9 ? 0 : value).toFixed(decimals);
}

function f(value: number): string {
  return value.toFixed(1);
}

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** One point estimate with its interval. */
export interface IntervalValue {
  value: number;
  low: number;
  high: number;
}

export interface IntervalChartOptions {
  title: string;
  xLabel: string;
  /** One entry per quantity drawn on each row (e.g. ΔAUC, ΔGAUC). */
  series: Array<{ name: string; color: string }>;
  /** One row per item (e.g. a feature set); `values[s]` belongs to series s (null: not drawn). */
  rows: Array<{ label: string; values: Array<IntervalValue | null> }>;
  width?: number;
}

/**
 * A horizontal dot-and-whisker chart: a row per item, a dot per series at its value with a bar from low to high, and a
 * dashed line at 0 (no difference). Deterministic output, like lineChartSvg.
 */
export function intervalChartSvg(options: IntervalChartOptions): string {
  const width = options.width ?? 560;
  const band = 14 * Math.max(1, options.series.length) + 14;
  const margin = { left: 130, right: 24, top: 36, bottom: 58 };
  const plotW = width - margin.left - margin.right;
  const plotH = band * Math.max(1, options.rows.length);
  const height = margin.top + plotH + margin.bottom;
  const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);
  const all = options.rows.flatMap((r) => r.values.flatMap((v) => (v ? [v.value, v.low, v.high] : []))).filter(finite);
  const xs = niceScale([0, ...all]);
  const px = (x: number) => margin.left + ((x - xs.min) / (xs.max - xs.min)) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" role="img" aria-label="${esc(options.title)}">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${margin.left + plotW / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(options.title)}</text>`,
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
  ];
  for (const t of xs.ticks) {
    const x = f(px(t));
    out.push(`<line x1="${x}" y1="${margin.top}" x2="${x}" y2="${margin.top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${x}" y="${margin.top + plotH + 16}" text-anchor="middle">${tickText(t, xs.step)}</text>`);
  }
  out.push(`<line x1="${f(px(0))}" y1="${margin.top}" x2="${f(px(0))}" y2="${margin.top + plotH}" stroke="#444" stroke-dasharray="4 3"/>`);
  options.rows.forEach((row, i) => {
    const top = margin.top + i * band;
    out.push(`<text x="${margin.left - 8}" y="${f(top + band / 2 + 4)}" text-anchor="end">${esc(row.label)}</text>`);
    row.values.forEach((v, s) => {
      if (!v || !finite(v.value)) return;
      const y = f(top + 14 + s * 14);
      const color = options.series[s]?.color ?? '#000';
      if (finite(v.low) && finite(v.high)) {
        out.push(`<line x1="${f(px(v.low))}" y1="${y}" x2="${f(px(v.high))}" y2="${y}" stroke="${color}" stroke-width="2"/>`);
        for (const end of [v.low, v.high])
          out.push(`<line x1="${f(px(end))}" y1="${f(Number(y) - 4)}" x2="${f(px(end))}" y2="${f(Number(y) + 4)}" stroke="${color}"/>`);
      }
      out.push(`<circle cx="${f(px(v.value))}" cy="${y}" r="4" fill="${color}"/>`);
    });
  });
  out.push(`<text x="${margin.left + plotW / 2}" y="${margin.top + plotH + 34}" text-anchor="middle">${esc(options.xLabel)}</text>`);
  options.series.forEach((series, s) => {
    const lx = margin.left + s * 120;
    const ly = margin.top + plotH + 50;
    out.push(`<circle cx="${lx}" cy="${ly - 4}" r="4" fill="${series.color}"/>`);
    out.push(`<text x="${lx + 9}" y="${ly}">${esc(series.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
