/**
 * The contract every ImageGenerator (spec/image-generator.ts) must meet, as `node:test` tests: call
 * `imageGeneratorContract({ name, create, settings })` at the top level of a test file. The ONNX generator runs it
 * on the fixture models (providers/image/onnx-image-generator.test.ts); a remote generator runs it against a stub
 * server. Features a generator's capabilities deny are checked as refusals (one `invalid-argument` line naming the
 * generator), the others as behaviour.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { checkGeneratorSupports, type GeneratorNeeds } from '../providers/image/generator-support.js';
import type { GenerationSettings, GeneratorImages, GeneratorStep, ImageGenerator } from '../spec/image-generator.js';

export interface ImageGeneratorContractOptions {
  /** Names the tests. */
  name: string;
  /** A fresh generator; the suite closes each one it creates. */
  create: () => Promise<ImageGenerator>;
  /** A small size and step count the generator runs quickly (steps >= 2, so that there is a step to preview). */
  settings: Pick<GenerationSettings, 'width' | 'height' | 'steps' | 'guidance'> & Partial<GenerationSettings>;
}

const prompts = ['a red apple on a table', 'a blue car in the rain', 'a green forest at dawn'];

/** One-line PmgError 'invalid-argument' naming the generator. */
function isRefusal(generator: ImageGenerator): (error: unknown) => boolean {
  return (error) => error instanceof PmgError && error.code === 'invalid-argument' && !error.message.includes('\n') && error.message.includes(generator.id);
}

export function imageGeneratorContract(options: ImageGeneratorContractOptions): void {
  const { name } = options;
  const settings = (seeds: readonly number[], extra: Partial<GenerationSettings> = {}): GenerationSettings => ({
    ...options.settings,
    candidates: seeds.map((_, i) => ({ prompt: prompts[i % prompts.length]!, negativePrompt: 'blurry' })),
    seeds,
    ...extra,
  });
  const withGenerator = async <T>(work: (generator: ImageGenerator) => Promise<T>): Promise<T> => {
    const generator = await options.create();
    try {
      return await work(generator);
    } finally {
      await generator.close();
    }
  };
  const generate = async (generator: ImageGenerator, request: GenerationSettings): Promise<GeneratorImages> => {
    const generation = await generator.start(request);
    await generation.run();
    return generation.finish();
  };

  test(`${name}: capabilities are well formed`, () =>
    withGenerator(async (generator) => {
      const can = generator.capabilities;
      assert.ok(generator.id.length > 0, 'an id');
      assert.ok(can.conditioning.length > 0, 'at least one conditioning mode');
      assert.ok(can.schedulers.length > 0, 'at least one scheduler');
      assert.ok(can.decoders.length > 0, 'at least one decoder');
      if (can.softTokens) assert.ok(Number.isInteger(can.softTokens.width) && can.softTokens.width > 0, 'soft tokens have a width');
    }));

  test(`${name}: a batch of N candidates gives N images of the asked size in [-1, 1], with N context lengths and one timestep per step`, () =>
    withGenerator(async (generator) => {
      const generation = await generator.start(settings([7, 7, 7]));
      assert.equal(generation.contextTokens.length, 3);
      await generation.run();
      assert.equal(generation.scheduler.timesteps.length, generation.stepCount);
      const out = await generation.finish();
      assert.deepEqual([...out.images.dims], [3, 3, options.settings.height, options.settings.width]);
      assert.ok(generator.capabilities.decoders.includes(out.decoder));
      assert.ok(
        out.images.data.every((v) => v >= -1 && v <= 1),
        'values in [-1, 1]',
      );
    }));

  test(`${name}: the same seed gives the same images; another seed, other images`, () =>
    withGenerator(async (generator) => {
      const a = await generate(generator, settings([3]));
      const b = await generate(generator, settings([3]));
      const c = await generate(generator, settings([4]));
      assert.deepEqual(a.images.data, b.images.data);
      assert.notDeepEqual(a.images.data, c.images.data);
    }));

  test(`${name}: progress comes once per model call, in order, ending at the steps asked for`, () =>
    withGenerator(async (generator) => {
      const seen: GeneratorStep[] = [];
      const generation = await generator.start(settings([1, 2], { onStep: (step) => void seen.push(step) }));
      await generation.run();
      assert.equal(seen.length, generation.stepCount);
      seen.forEach((s, i) => {
        assert.equal(s.step, i);
        assert.equal(s.stepCount, generation.stepCount);
        assert.equal(s.requestedSteps, options.settings.steps);
        if (i > 0) assert.ok(s.stepsDone >= seen[i - 1]!.stepsDone, 'steps done never go back');
      });
      assert.equal(seen.at(-1)!.stepsDone, options.settings.steps);
    }));

  test(`${name}: an abort stops the run at the next step with 'aborted'`, () =>
    withGenerator(async (generator) => {
      const controller = new AbortController();
      let steps = 0;
      const generation = await generator.start(
        settings([1], {
          signal: controller.signal,
          onStep: () => {
            steps += 1;
            controller.abort();
          },
        }),
      );
      await assert.rejects(generation.run(), (error: unknown) => error instanceof PmgError && error.code === 'aborted');
      assert.equal(steps, 1, 'no step after the abort');
    }));

  test(`${name}: live previews of every running candidate when it makes them, none otherwise`, () =>
    withGenerator(async (generator) => {
      const shown: { candidates: readonly number[]; dims: readonly number[] }[] = [];
      const generation = await generator.start(settings([5, 5], { onPreview: (p) => void shown.push({ candidates: p.candidates, dims: p.images.dims }) }));
      await generation.run();
      if (!generator.capabilities.previews) return assert.equal(shown.length, 0);
      assert.ok(shown.length > 0, 'at least one preview');
      for (const p of shown) {
        assert.deepEqual([...p.candidates], [0, 1]);
        assert.deepEqual([...p.dims], [2, 3, options.settings.height, options.settings.width]);
      }
    }));

  test(`${name}: the early search previews all, keeps some and finishes only those`, () =>
    withGenerator(async (generator) => {
      if (!generator.capabilities.earlySearch) return;
      const generation = await generator.start(settings([2, 2, 2]));
      await generation.run({ until: 1 });
      const preview = await generation.preview();
      assert.deepEqual([...preview.candidates], [0, 1, 2]);
      assert.equal(preview.images.dims[0], 3);
      generation.keep([2]);
      await generation.run();
      const out = await generation.finish();
      assert.equal(out.images.dims[0], 1);
    }));

  test(`${name}: what the capabilities deny is refused in one line naming the generator, before any work`, () =>
    withGenerator(async (generator) => {
      const can = generator.capabilities;
      const denied: GeneratorNeeds[] = [
        ...(['repeat', 'embed'] as const).filter((mode) => !can.conditioning.includes(mode)).map((conditioning) => ({ conditioning })),
        ...(can.softTokens ? [] : [{ softTokens: true }]),
        ...(can.earlySearch ? [] : [{ earlySearch: true }]),
        ...(can.negative ? [] : [{ negative: true }]),
        ...(can.latents ? [] : [{ latents: true }]),
        ...(['vae', 'tiny'] as const).filter((kind) => !can.decoders.includes(kind)).map((finalDecoder) => ({ finalDecoder })),
      ].map((need) => ({ conditioning: can.conditioning[0]!, ...need }));
      for (const need of denied) assert.throws(() => checkGeneratorSupports(generator, need), isRefusal(generator), JSON.stringify(need));
      // What it can do passes.
      checkGeneratorSupports(generator, {
        conditioning: can.conditioning[0]!,
        softTokens: can.softTokens !== undefined,
        earlySearch: can.earlySearch,
        negative: can.negative,
        latents: can.latents,
        scheduler: can.schedulers[0]!,
        finalDecoder: can.decoders[0]!,
      });
      // A final decoder it lacks is refused by start itself too.
      for (const finalDecoder of (['vae', 'tiny'] as const).filter((kind) => !can.decoders.includes(kind)))
        await assert.rejects(
          generator.start(settings([1], { finalDecoder })),
          (error: unknown) => error instanceof PmgError && error.code === 'invalid-argument',
        );
    }));

  test(`${name}: close can be called twice, and a closed generator starts nothing`, async () => {
    const generator = await options.create();
    await generator.close();
    await generator.close();
    await assert.rejects(generator.start(settings([1])), (error: unknown) => error instanceof PmgError);
  });
}
