/** The text report of `pmg bench diffusion --real-scale`: command, machine, then one table per kind of figure. */
import { formatMachine } from './machine.js';
import type { RealScaleBenchResult } from './real-scale.js';

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

/** Columns before `textColumns` are left-aligned text, the rest right-aligned numbers. */
function table(header: string[], rows: string[][], textColumns = 1): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    `  ${cells.map((cell, i) => (i < textColumns ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s (${seconds.toFixed(0)} s)`;
}

const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(2)} GB`;

/** The issue's goals, each with the figure that meets or misses it (only those whose figures were measured). */
function goalLines(r: RealScaleBenchResult): string[] {
  const out: string[] = [];
  const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  const fast = r.presetRuns.find((p) => p.preset === 'fast' && p.size === 512);
  if (fast) out.push(`  fast preset, 512 px, 2 candidates: ${fast.seconds.toFixed(1)} s of compute (goal ≤ 15 s): ${verdict(fast.seconds <= 15)}`);
  const paper = r.presetRuns.find((p) => p.preset === 'paper' && p.size === 512);
  if (paper) out.push(`  paper preset, 512 px: peak RSS ${gb(paper.peakRssBytes)} (goal ≤ 8 GB): ${verdict(paper.peakRssBytes <= 8e9)}`);
  const unet = (batch: number) => r.calls.find((c) => c.model === 'unet' && c.size === 512 && c.batch === batch);
  const [one, four] = [unet(1), unet(4)];
  if (one && four) {
    const change = (4 * one.medianSeconds) / four.medianSeconds - 1;
    out.push(
      `  paper's 4 UNet rows per step in 4 calls of 1 vs one call of 4: ${(4 * one.medianSeconds).toFixed(1)} s vs ${four.medianSeconds.toFixed(1)} s (${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)} %; goal ≤ +3 %): ${verdict(change <= 0.03)}`,
    );
  }
  const vae = r.calls.find((c) => c.model === 'vae_decoder' && c.size === 512);
  const tiny = r.calls.find((c) => c.model === 'tiny_decoder' && c.size === 512);
  if (vae && tiny) {
    const ratio = vae.medianSeconds / tiny.medianSeconds;
    out.push(
      `  tiny decoder vs VAE at 512 px: ${vae.medianSeconds.toFixed(2)} s / ${tiny.medianSeconds.toFixed(2)} s = ${ratio.toFixed(1)}× (goal ≥ 20×): ${verdict(ratio >= 20)}`,
    );
  }
  if (r.pipeline)
    out.push(`  share outside onnxruntime: ${(r.pipeline.outsideShare * 100).toFixed(2)} % (goal ≤ 3 %): ${verdict(r.pipeline.outsideShare <= 0.03)}`);
  return out;
}

export function formatRealScaleBench(r: RealScaleBenchResult, command: string): string {
  const o = r.options;
  const lines = [
    `command: ${command}`,
    `machine: ${formatMachine(r.machine)}`,
    `models:  ${r.models.dir} (${r.models.architecture === 'sd15' ? 'SD 1.5 architectures' : 'reduced-width architectures'}, ${r.models.attention === 'fused' ? "attention fused into onnxruntime's MultiHeadAttention by pmg's rewrite" : 'attention as exported'}, random weights, fp32, ONNX external data; ${r.models.written ? `written by this run in ${r.models.writeSeconds.toFixed(0)} s` : 'cached copy'})`,
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
  if (r.presetRuns.length > 0) {
    lines.push(
      '',
      "presets through the pipeline (one user, 2 candidates, the preset's size, steps, guidance, scheduler and decoder, memory budget auto; no LLM, no CLIP):",
    );
    for (const run of r.presetRuns) {
      const steps = run.extrapolated ? `${run.steps} steps (${run.stepsRun} run, the rest extrapolated)` : `${run.steps} step${run.steps === 1 ? '' : 's'}`;
      lines.push(
        `  ${run.preset.padEnd(6)} ${run.size} px, ${steps}, guidance ${run.guidance}, ${run.decoder === 'tiny' ? 'tiny decoder' : 'VAE'}: ${duration(run.seconds)} (encode ${run.parts.encode.toFixed(1)} s, denoise ${run.parts.denoise.toFixed(1)} s, decode ${run.parts.decode.toFixed(1)} s); ${run.runs.length > 1 ? `median of runs ${run.runs.map((x) => x.toFixed(1)).join(', ')} s; ` : ''}peak RSS ${gib(run.peakRssBytes)} (${gb(run.peakRssBytes)}); ${run.memoryPlan}`,
      );
    }
  }
  const goals = goalLines(r);
  if (goals.length > 0) lines.push('', 'goals (issue 10):', ...goals);
  if (r.presets.length > 0) {
    lines.push('', 'preset compute, estimated from the medians above as a cross-check (one user, 2 candidates; no LLM, no CLIP):');
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
