/**
 * The presets' diffusion compute, run through the real pipeline (textToImage) on the real-scale models: one user, two
 * candidates (two prompts, as two preference weights give), the preset's size, steps, guidance, scheduler and decoder,
 * pmg's memory plan with the machine's budget ('auto', what `pmg generate` uses). Not included: the LLM's keywords
 * and CLIP's scores (their models are not among the real-scale fixtures). SD-Turbo (`fast`) has SD 2.1's UNet, within
 * a few percent of SD 1.5's in size and FLOPs, so SD 1.5's networks stand in for it.
 * - `fast` runs whole: a warm-up, then the median of `repeats` runs.
 * - `paper` runs `paperSteps` of its 30 steps once (every step costs the same: the same UNet rows), then the rest is
 *   extrapolated: encode + denoise × 30 / paperSteps + decode; its peak RSS is measured over the run.
 */
import { presets, type PresetName } from '../providers/presets.js';
import { textToImage, type TextToImageRequest, type TextToImageResult } from '../pipeline/text-to-image.js';
import { describeSlicePlan } from '../pipeline/unet-slice-plan.js';
import { median } from './median.js';
import type { RealScaleContext, RealScaleStage } from './real-scale.js';

export interface PresetRun {
  preset: PresetName;
  size: number;
  /** The preset's steps, and the steps actually run (fewer for `paper`: the rest is extrapolated). */
  steps: number;
  stepsRun: number;
  guidance: number;
  candidates: number;
  decoder: 'vae' | 'tiny';
  /** The UNet slice plan, as --verbose prints it. */
  memoryPlan: string;
  /** Seconds of the preset's whole run: measured (fast) or extrapolated from `stepsRun` steps (paper). */
  seconds: number;
  parts: { encode: number; denoise: number; decode: number };
  extrapolated: boolean;
  runs: number[];
  rssBeforeBytes: number;
  peakRssBytes: number;
}

const PROMPTS = [
  "movie poster, Heat, named 'Heat', night, city, neon, rain, crime, noir, vintage, dramatic",
  "movie poster, Heat, named 'Heat', night, city, neon, rain, crime, noir, vintage, dramatic, noir, vintage, dramatic",
];

function request(name: PresetName, size: number, steps: number): TextToImageRequest {
  const preset = presets[name];
  return {
    candidates: PROMPTS.map((prompt) => ({ prompt, negativePrompt: 'low quality, blurry' })),
    steps,
    guidanceScale: preset.guidance,
    width: size,
    height: size,
    seed: 1,
    ...(preset.scheduler ? { scheduler: preset.scheduler } : {}),
    ...(preset.timestepSpacing ? { timestepSpacing: preset.timestepSpacing } : {}),
    memory: { budget: 'auto' },
    warn: () => undefined,
  };
}

async function runPreset(c: RealScaleContext, name: PresetName, stepsRun: number, repeats: number): Promise<PresetRun> {
  const preset = presets[name];
  const size = c.options.presetSize ?? preset.width;
  const model = await c.model();
  const tiny = preset.finalDecoder === 'tiny' ? await c.tinyDecoder() : undefined;
  const base = { ...request(name, size, stepsRun), ...(tiny ? { tinyDecoder: tiny, finalDecoder: 'tiny' as const } : {}) };
  const results: TextToImageResult[] = [];
  const { beforeBytes, peakBytes } = await c.window(async () => {
    for (let i = 0; i < repeats; i++) results.push(await textToImage(model, base));
  });
  c.progress(
    `${name} preset: ${results.map((r) => ((r.timings.encode + r.timings.denoise + r.timings.decode) / 1000).toFixed(1)).join(', ')} s for ${stepsRun} step(s)`,
  );
  const totals = results.map((r) => (r.timings.encode + r.timings.denoise + r.timings.decode) / 1000);
  const pick = results[totals.indexOf(median(totals))] ?? results[0]!;
  const scale = preset.steps / stepsRun;
  const parts = { encode: pick.timings.encode / 1000, denoise: (pick.timings.denoise / 1000) * scale, decode: pick.timings.decode / 1000 };
  return {
    preset: name,
    size,
    steps: preset.steps,
    stepsRun,
    guidance: preset.guidance,
    candidates: PROMPTS.length,
    decoder: pick.decoder,
    memoryPlan: describeSlicePlan(pick.memory.unet),
    seconds: parts.encode + parts.denoise + parts.decode,
    parts,
    extrapolated: scale !== 1,
    runs: totals,
    rssBeforeBytes: beforeBytes,
    peakRssBytes: peakBytes,
  };
}

/** The two measured preset runs; they go before the per-call tables, whose larger batches grow onnxruntime's arenas. */
export const presetRunStages: RealScaleStage[] = [
  {
    name: 'fast preset',
    async run(c) {
      const model = await c.model();
      const size = c.options.presetSize ?? presets.fast.width;
      await textToImage(model, { ...request('fast', size, presets.fast.steps), tinyDecoder: await c.tinyDecoder(), finalDecoder: 'tiny' }); // warm-up
      c.result.presetRuns.push(await runPreset(c, 'fast', presets.fast.steps, Math.max(1, c.options.repeats)));
    },
  },
  {
    name: 'paper preset',
    async run(c) {
      c.result.presetRuns.push(await runPreset(c, 'paper', Math.min(c.options.paperSteps, presets.paper.steps), 1));
    },
  },
];
