/**
 * Model presets: which hub models `pmg generate` / `pmg demo` use when no folder is given.
 *
 * - `fast` (default): runs on an ordinary CPU laptop. A 0.5B instruct LLM (4-bit ONNX), CLIP ViT-B/32, SD-Turbo at
 *   its designed one step (512 px, no classifier-free guidance, Euler from t = 999: `trailing` spacing), from
 *   TensorStack/SD-Turbo-onnx — a complete diffusers ONNX layout (model_index.json, scheduler, tokenizer, configs)
 *   made for onnxruntime on CPU/DirectML rather than a web export; its fp16 graphs get fp32 copies once on a CPU —
 *   and the tiny autoencoder TAESD (julienkay/taesd, 4.9 MB ONNX) decoding the final images: on CPU the full VAE
 *   decoder costs more than the UNet; TAESD is far cheaper (141 GFLOP against 2.5 TFLOP per 512-px image) with
 *   softer detail. docs/performance.md has the measured compute.
 * - `paper`: the paper's generator settings (SD 1.5, DPM-Solver++, 30 steps, guidance 9, 512 px), the official
 *   negative prompts and sticker prefix, and the LLM the authors ran, Llama-2-7B-chat, behind an
 *   OpenAI-compatible server the user runs (e.g. vLLM on 127.0.0.1:8000).
 *
 * Repo ids were checked against the public hub listings; `downloadBytes` is approximate (the files
 * the loaders pull, rounded) and is documented in docs/generate.md.
 */
import type { TransformersDtype } from '../runtime/transformers-models.js';
import type { TimestepSpacing } from '../spec/scheduler.js';
import type { DecoderKind } from '../spec/diffusion-models.js';
import type { PromptStyleName } from '../spec/prompt-style.js';

export interface ModelPreset {
  name: string;
  description: string;
  /** LLM spec as `--llm` takes it (onnx:<repo id or folder> or openai:<base URL>). */
  llm: string;
  /** Model name on an openai: server. */
  llmModel?: string;
  /** Weight variant of an onnx: LLM (transformers.js layout: q4 → onnx/model_q4.onnx). Default fp32. */
  llmDtype?: TransformersDtype;
  /** CLIP repo id or folder (transformers.js layout). */
  clip: string;
  /** Stable Diffusion repo id or folder (diffusers ONNX layout). */
  sd: string;
  /** Tiny autoencoder decoder (TAESD, ONNX) repo id or folder: previews always, final images when `finalDecoder` is 'tiny'. */
  decoder?: string;
  /** Which decoder makes the final images (default 'vae'); 'tiny' trades some detail for speed. */
  finalDecoder?: DecoderKind;
  steps: number;
  guidance: number;
  width: number;
  height: number;
  /** Scheduler overriding the model's scheduler_config.json (undefined: the model's own). */
  scheduler?: string;
  /** Replaces the scheduler config's timestep_spacing (one-step sampling must start at t = 999: `trailing`). */
  timestepSpacing?: TimestepSpacing;
  /** Negative prompts and sticker prefix (personalize/prompt-styles.ts). */
  promptStyle: PromptStyleName;
  /** Approximate bytes downloaded on first use (LLM + CLIP + SD; a served LLM counts 0). */
  downloadBytes: number;
}

const MB = 1024 * 1024;

export const presets: Record<'fast' | 'paper', ModelPreset> = {
  fast: {
    name: 'fast',
    description:
      'CPU laptop: Qwen2.5-0.5B-Instruct (q4 ONNX), CLIP ViT-B/32, SD-Turbo (512 px, 1 step, no guidance), final images decoded by the tiny autoencoder TAESD',
    llm: 'onnx:onnx-community/Qwen2.5-0.5B-Instruct',
    llmDtype: 'q4',
    clip: 'Xenova/clip-vit-base-patch32',
    sd: 'TensorStack/SD-Turbo-onnx',
    decoder: 'julienkay/taesd',
    finalDecoder: 'tiny',
    steps: 1,
    scheduler: 'euler',
    timestepSpacing: 'trailing',
    guidance: 0,
    width: 512,
    height: 512,
    promptStyle: 'pmg',
    // LLM q4 ~786 MB + CLIP text 254 MB + vision 352 MB + SD-Turbo fp16 (text encoder 681 MB, UNet ~1.73 GB, VAE decoder 99 MB)
    // + TAESD's vae_decoder/model.onnx (4.9 MB: 1,222,531 fp32 parameters)
    downloadBytes: (786 + 254 + 352 + 680 + 1730 + 100 + 5) * MB,
  },
  paper: {
    name: 'paper',
    description:
      "the paper's settings: SD 1.5 (fp32 ONNX), DPM-Solver++, 30 steps, guidance 9, 512 px, the official negative prompts; Llama-2-7B-chat on an OpenAI-compatible server at 127.0.0.1:8000",
    llm: 'openai:http://127.0.0.1:8000/v1',
    llmModel: 'meta-llama/Llama-2-7b-chat-hf',
    clip: 'Xenova/clip-vit-base-patch32',
    sd: 'onnx-community/stable-diffusion-v1-5-ONNX',
    steps: 30,
    guidance: 9,
    width: 512,
    height: 512,
    scheduler: 'dpm-solver++',
    promptStyle: 'official',
    // CLIP 606 MB + SD 1.5 fp32 (text encoder ~490 MB, UNet ~3.4 GB with weights.pb, VAE decoder ~200 MB); the LLM is served
    downloadBytes: (254 + 352 + 490 + 3440 + 200) * MB,
  },
};

export type PresetName = keyof typeof presets;
export const DEFAULT_PRESET: PresetName = 'fast';
export const presetNames = Object.keys(presets) as PresetName[];

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(presets, name);
}
