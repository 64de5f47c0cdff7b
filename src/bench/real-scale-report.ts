/** The text report of `pmg bench diffusion --real-scale`: command, machine, then one table per kind of figure. */
import { formatMachine } from './machine.js';
import type { RealScaleBenchResult } from './real-scale.js';

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

/** Columns before `textColumns` are left-aligned text, the rest right-aligned numbers. */
function table(header: string[], rows: string[][], textColumns = 1): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `  ${cells.map((cell, i) => (i < textColumns ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s (${seconds.toFixed(0)} s)`;
}

export function formatRealScaleBench(r: RealScaleBenchResult, command: string): string {
  const o = r.options;
  const lines = [
    `command: ${command}`,
    `machine: ${formatMachine(r.machine)}`,
    `models:  ${r.models.dir} (${r.models.architecture === 'sd15' ? 'SD 1.5 architectures' : 'reduced-width architectures'}, ${r.models.attention === 'fused' ? "onnxruntime's fused attention kernel" : 'attention as exported'}, random weights, fp32, ONNX external data; ${r.models.written ? `written by this run in ${r.models.writeSeconds.toFixed(0)} s` : 'cached copy'})`,
    `method:  onnxruntime-node, ${r.threads === 'all cores' ? 'intra-op threads = cores' : `${r.threads} intra-op thread${r.threads === 1 ? '' : 's'}`}; median of ${o.repeats} timed call${o.repeats === 1 ? '' : 's'} after 1 warm-up; peak RSS per measurement from ${r.peakSource === 'VmHWM' ? 'Linux VmHWM, reset before each' : 'a sampling thread'}; RSS before = sessions + what earlier calls left in onnxruntime's arenas`,
    '',
    'session creation',
    ...table(
      ['model', 'seconds', 'RSS after', 'peak RSS'],
      r.sessions.map((s) => [s.model, s.seconds.toFixed(1), gib(s.rssAfterBytes), gib(s.peakRssBytes)]),
    ),
    '',
    'calls',
    ...table(
      ['model', 'call', 'size', 'batch', 'median s', 's/image', 'GFLOP', 'GFLOP/s', 'RSS before', 'peak RSS'],
      r.calls.map((c) => [
        c.model,
        c.label,
        c.size ? `${c.size}` : '-',
        `${c.batch}`,
        c.medianSeconds.toFixed(3),
        (c.medianSeconds / c.batch).toFixed(3),
        c.flops !== undefined ? (c.flops / 1e9).toFixed(1) : '-',
        c.gflopPerSecond !== undefined ? c.gflopPerSecond.toFixed(1) : '-',
        gib(c.rssBeforeBytes),
        gib(c.peakRssBytes),
      ]),
      2,
    ),
  ];
  if (r.pipeline) {
    const p = r.pipeline;
    lines.push(
      '',
      `pipeline: one text-to-image at ${p.size} px, ${p.steps} steps, guidance on: wall ${p.wallSeconds.toFixed(2)} s, inside onnxruntime run ${p.onnxSeconds.toFixed(2)} s, outside ${(p.outsideShare * 100).toFixed(2)} % (goal ≤ 3 %)`,
    );
  }
  if (r.presets.length > 0) {
    lines.push('', 'preset compute, estimated from the medians above (one user, 2 candidates, all candidates batched per step; no LLM, no CLIP):');
    for (const e of r.presets) {
      const head = `  ${e.preset.padEnd(6)} ${e.size} px, ${e.steps} steps, guidance ${e.guidance}:`;
      lines.push(
        e.missing
          ? `${head} not estimated: ${e.missing}`
          : `${head} ${duration(e.seconds)} = ${e.formula} (UNet ${e.parts.unet.toFixed(1)} s, VAE ${e.parts.vaeDecode.toFixed(1)} s, text ${e.parts.textEncoder.toFixed(1)} s)`,
      );
    }
  }
  if (r.notes.length > 0) lines.push('', ...r.notes);
  lines.push('', `peak RSS over the run: ${gib(r.peakRssBytes)}`, '');
  return lines.join('\n');
}
