/**
 * The compute of one `pmg generate` with a preset, estimated from the real-scale medians: one user, two
 * candidates (two preference weights), the preset's size, steps and guidance, run the way pmg runs it on a
 * CPU: every UNet row of a step (candidates × guidance halves) in its own call (pipeline/unet-slice-plan.ts: on
 * CPU batching buys no speed), one decode per image by the preset's decoder, one text-encoder call per prompt
 * window (the negative prompt's included when guidance is on). LLM keywords and CLIP scoring are not included. SD-Turbo (`fast`) has SD 2.1's UNet, which is
 * within a few percent of SD 1.5's in size and FLOPs, so SD 1.5's figures stand for it.
 */
import { presets, type PresetName } from '../providers/presets.js';
import type { CallTiming } from './real-scale.js';

export const ESTIMATE_CANDIDATES = 2;

export interface PresetEstimate {
  preset: PresetName;
  size: number;
  steps: number;
  guidance: number;
  /** UNet batch per step: candidates × (2 with guidance). */
  unetBatch: number;
  seconds: number;
  /** The decoder whose medians were used ('vae_decoder' unless told otherwise). */
  decoder: string;
  /** Seconds per part: UNet, VAE decode, text encoder. */
  parts: { unet: number; vaeDecode: number; textEncoder: number };
  /** How the figure was made, e.g. '2 × UNet(512 px, batch 2) + 2 × VAE decode(512 px) + 2 × text encoder'. */
  formula: string;
  /** Set when a needed median is missing (the size or batch was not measured); no figure then. */
  missing?: string;
}

function decodeLabel(decoder: string): string {
  return decoder === 'vae_decoder' ? 'VAE decode' : `${decoder} decode`;
}

function find(calls: readonly CallTiming[], model: string, size: number, batch: number): CallTiming | undefined {
  return calls.find((c) => c.model === model && c.size === size && c.batch === batch);
}

/** UNet seconds for `rows` rows of a step: one call of batch 1 each, as pmg runs them on a CPU. */
function unetSeconds(calls: readonly CallTiming[], size: number, rows: number): { seconds: number; how: string } | undefined {
  const single = find(calls, 'unet', size, 1);
  return single ? { seconds: single.medianSeconds * rows, how: `${rows} × UNet(${size} px, batch 1)` } : undefined;
}

export interface PresetEstimateOptions {
  /** Presets to estimate (default fast and paper). */
  names?: readonly PresetName[];
  /** The `model` of the decode rows to use per preset (default 'vae_decoder'; e.g. a tiny decoder's rows). */
  decoders?: Partial<Record<PresetName, string>>;
}

export function presetEstimates(calls: readonly CallTiming[], options: PresetEstimateOptions = {}): PresetEstimate[] {
  return (options.names ?? ['fast', 'paper']).map((name) => {
    const decoder = options.decoders?.[name] ?? 'vae_decoder';
    const preset = presets[name];
    const size = preset.width;
    const guided = preset.guidance > 1;
    const unetBatch = ESTIMATE_CANDIDATES * (guided ? 2 : 1);
    const textCalls = ESTIMATE_CANDIDATES + (guided ? 1 : 0);
    const base = { preset: name, size, steps: preset.steps, guidance: preset.guidance, unetBatch, decoder };
    const unet = unetSeconds(calls, size, unetBatch);
    const decode = find(calls, decoder, size, 1);
    const text = calls.find((c) => c.model === 'text_encoder');
    if (!unet || !decode || !text) {
      const missing = [!unet && `UNet at ${size} px`, !decode && `${decodeLabel(decoder)} at ${size} px`, !text && 'text encoder'].filter(Boolean).join(', ');
      return {
        ...base,
        seconds: NaN,
        parts: { unet: NaN, vaeDecode: NaN, textEncoder: NaN },
        formula: '',
        missing: `${missing} not measured (add ${size} to --sizes)`,
      };
    }
    const parts = { unet: preset.steps * unet.seconds, vaeDecode: ESTIMATE_CANDIDATES * decode.medianSeconds, textEncoder: textCalls * text.medianSeconds };
    return {
      ...base,
      seconds: parts.unet + parts.vaeDecode + parts.textEncoder,
      parts,
      formula: `${preset.steps} × ${unet.how} + ${ESTIMATE_CANDIDATES} × ${decodeLabel(decoder)}(${size} px) + ${textCalls} × text encoder`,
    };
  });
}
