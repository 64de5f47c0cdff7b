/**
 * Checks both remote generators' tests share (providers/image/a1111-generator.test.ts, comfyui-generator.test.ts):
 * one small generation, a batch of a plain and a weighted-spans candidate, live progress, and an abort mid-run that
 * must reach the server as an interrupt.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { PmgError } from '../errors/pmg-error.js';
import type { GenerationSettings, ImageGenerator } from '../spec/image-generator.js';

/** 16×16, 4 steps: quick on the fake servers. */
export const smallRemote = { width: 16, height: 16, steps: 4, guidance: 7 };

/** One candidate ('a red apple', negative 'blurry', seed 3) with `extra` on top. */
export function oneCandidate(extra: Partial<GenerationSettings> = {}): GenerationSettings {
  return { ...smallRemote, candidates: [{ prompt: 'a red apple', negativePrompt: 'blurry' }], seeds: [3], ...extra };
}

/** Two candidates with one seed: `plain` as text (negative 'blurry'), then `base` with `extra` at `weight` as spans. */
export function plainAndWeighted(plain: string, spans: { base: string; extra: string; weight: number }, seed: number, scheduler: string): GenerationSettings {
  return {
    ...smallRemote,
    scheduler,
    candidates: [
      { prompt: plain, negativePrompt: 'blurry' },
      {
        prompt: [
          { text: spans.base, weight: 1 },
          { text: spans.extra, weight: spans.weight },
        ],
      },
    ],
    seeds: [seed, seed],
  };
}

/** Start, run, finish: the images' values. */
export async function generateWith(generator: ImageGenerator, settings: GenerationSettings): Promise<{ data: Float32Array; dims: number[] }> {
  const generation = await generator.start(settings);
  await generation.run();
  return (await generation.finish()).images;
}

/** A 20-step run aborted after 100 ms rejects with 'aborted' and the server sees one interrupt. */
export async function checkAbortInterrupts(generator: ImageGenerator, interrupts: () => number): Promise<void> {
  const controller = new AbortController();
  const generation = await generator.start(oneCandidate({ steps: 20, signal: controller.signal }));
  setTimeout(() => controller.abort(), 100);
  await assert.rejects(generation.run(), (error: unknown) => error instanceof PmgError && error.code === 'aborted');
  for (let i = 0; i < 50 && interrupts() === 0; i++) await sleep(10);
  assert.equal(interrupts(), 1);
}

/** A 10-step run on a slow server: the first steps reach onStep while the server still runs (live progress, not all at the end). */
export async function checkLiveProgress(generator: ImageGenerator, completed: () => number): Promise<void> {
  const seen: { stepsDone: number; completedThen: number }[] = [];
  await generateWith(generator, oneCandidate({ steps: 10, onStep: (s) => void seen.push({ stepsDone: s.stepsDone, completedThen: completed() }) }));
  assert.equal(seen.length, 10);
  assert.equal(seen[0]!.completedThen, 0, 'step 1 came while the server was still running');
  assert.deepEqual(
    seen.map((s) => s.stepsDone),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
}
