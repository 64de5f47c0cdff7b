/** Example generation jobs for tests: one with every field a job can have, each with a valid value (`generator`: check it with `allowGenerator`). */
import type { GenerationJob } from '../jobs/generation-job.js';

export const fullGenerationJob: GenerationJob = {
  scene: 'movie',
  history: { items: [{ title: 'Alien', genres: ['Horror', 'Sci-Fi'] }, { title: 'Heat' }] },
  target: { item: { title: 'Up' } },
  method: 'pmg',
  alpha: 0.5,
  mode: 'embed',
  weights: [0.5, 1.5],
  targetWeight: 1.2,
  search: 'early',
  earlyFraction: 0.3,
  earlyKeep: 2,
  previewScale: 2,
  steps: 4,
  guidance: 7.5,
  seed: 3,
  width: 64,
  height: 96,
  scheduler: 'ddim',
  promptStyle: 'official',
  decoder: '/models/taesd',
  finalDecoder: 'tiny',
  generator: 'comfyui:http://gpu-1:8188#ckpt=sd15.safetensors',
  soft: { module: '/soft', llmBody: 'org/body', weight: 0.8, allowLlmMismatch: true },
};
