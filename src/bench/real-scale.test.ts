import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeTinyAutoencoder } from '../fixtures/tiny-taesd.js';
import { SD15_REDUCED_ARCHITECTURE, writeRealScaleSd } from '../fixtures/real-scale-sd.js';
import { benchRealScale, realScaleStages, type RealScaleStage } from './real-scale.js';
import { formatRealScaleBench } from './real-scale-report.js';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'pmg-bench-real-'));
  writeRealScaleSd(join(root, 'sd15'), { architecture: SD15_REDUCED_ARCHITECTURE });
  writeTinyAutoencoder(join(root, 'taesd'), { width: 'tiny' });
});
after(() => rmSync(root, { recursive: true, force: true }));

test('the real-scale harness measures every figure on the reduced-width models, and runs added stages', async () => {
  const extra: RealScaleStage = {
    name: 'extra',
    async run(c) {
      const { vaeDecoder } = await c.model();
      await c.time({ model: 'extra_decoder', label: 'extra decode', size: 64, batch: 1 }, () =>
        vaeDecoder.decode({ data: new Float32Array(4 * 8 * 8), dims: [1, 4, 8, 8] }),
      );
      c.result.notes.push('extra: ran');
    },
  };
  realScaleStages.splice(realScaleStages.length - 1, 0, extra);
  const lines: string[] = [];
  try {
    const result = await benchRealScale(
      {
        dir: root,
        sizes: [64, 128],
        batches: [1, 2],
        repeats: 2,
        pipelineSteps: 2,
        paperSteps: 2,
        presetSize: 64,
        threads: 1,
        models: { dir: join(root, 'sd15'), architecture: SD15_REDUCED_ARCHITECTURE, taesd: join(root, 'taesd') },
      },
      (line) => lines.push(line),
    );
    assert.deepEqual(
      result.sessions.map((s) => s.model),
      ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder'],
    );
    assert.ok(result.sessions.every((s) => s.seconds > 0 && s.peakRssBytes >= s.rssAfterBytes * 0.9));
    const rows = result.calls.map((c) => `${c.model} ${c.size} ${c.batch}`);
    assert.deepEqual(rows, [
      'text_encoder 0 1',
      'vae_encoder 64 1',
      'vae_encoder 128 1',
      'vae_decoder 64 1',
      'vae_decoder 128 1',
      'tiny_decoder 64 1',
      'tiny_decoder 128 1',
      'unet 64 1',
      'unet 64 2',
      'unet 128 1',
      'unet 128 2',
      'extra_decoder 64 1',
    ]);
    for (const c of result.calls) {
      assert.equal(c.samples.length, 2);
      assert.ok(c.medianSeconds > 0 && c.rssBeforeBytes > 0 && c.peakRssBytes >= c.rssBeforeBytes * 0.95, `${c.model}`);
      if (c.model !== 'extra_decoder') assert.ok(c.flops! > 0 && c.gflopPerSecond! > 0, `${c.model} GFLOP/s`);
    }
    const unet = (size: number, batch: number) => result.calls.find((c) => c.model === 'unet' && c.size === size && c.batch === batch)!;
    assert.equal(unet(64, 2).flops, 2 * unet(64, 1).flops!);
    assert.ok(unet(128, 1).flops! > 2 * unet(64, 1).flops!, '4× the pixels');
    assert.ok(result.pipeline && result.pipeline.size === 64 && result.pipeline.onnxSeconds > 0 && result.pipeline.onnxSeconds <= result.pipeline.wallSeconds);
    assert.ok(result.pipeline.outsideShare >= 0 && result.pipeline.outsideShare < 1);
    assert.deepEqual(
      result.presets.map((p) => p.missing !== undefined),
      [true, true],
      'no 512 px figures, so no preset estimates',
    );
    const [fast, paper] = result.presetRuns;
    assert.deepEqual([fast!.preset, fast!.decoder, fast!.stepsRun, fast!.extrapolated, fast!.runs.length], ['fast', 'tiny', 1, false, 2]);
    assert.deepEqual([paper!.preset, paper!.decoder, paper!.steps, paper!.stepsRun, paper!.extrapolated], ['paper', 'vae', 30, 2, true]);
    assert.ok(Math.abs(paper!.seconds - (paper!.parts.encode + paper!.parts.denoise + paper!.parts.decode)) < 1e-9);
    assert.match(paper!.memoryPlan, /^UNet: 4 rows per step/);
    assert.ok(paper!.peakRssBytes >= paper!.rssBeforeBytes * 0.95);
    assert.ok(result.peakRssBytes >= Math.max(...result.calls.map((c) => c.peakRssBytes)));
    assert.ok(lines.includes('stage: extra'));

    const text = formatRealScaleBench(result, 'pmg bench diffusion --real-scale --test');
    assert.match(text, /^command: pmg bench diffusion --real-scale --test$/m);
    assert.match(text, /^machine: .*\d+ cores/m);
    assert.match(text, /^ {2}unet +UNet call +128 +2 +\d+\.\d{3} +\d+\.\d{3} +\d+\.\d +\d+\.\d +\d+\.\d\d GiB +\d+\.\d\d GiB$/m);
    assert.match(text, /outside \d+\.\d\d % \(goal ≤ 3 %\)/);
    assert.match(text, /paper +512 px, 30 steps, guidance 9: not estimated/);
    assert.match(text, /^extra: ran$/m);
    assert.match(text, /^peak RSS over the run: \d+\.\d\d GiB$/m);
  } finally {
    realScaleStages.splice(realScaleStages.indexOf(extra), 1);
  }
});
