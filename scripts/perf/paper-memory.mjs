// Peak RSS of the paper preset's denoise + decode at 512 px, on PROXIES in one process: the big stack's fp32 weights
// (891 M parameters, as SD 1.5's UNet holds 859.5 M) loaded, the UNet top-level proxy for the working memory of the
// UNet calls (4 rows per step: guidance halves of 2 candidates), the VAE decoder proxy for the decode of 2 images.
// The text encoder and CLIP (about 1.1 GB of weights) are not in it.
//   node scripts/perf/paper-memory.mjs sliced|unsliced BIG.onnx TOP.onnx VAE.onnx
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const [mode, big, top, vae] = process.argv.slice(2);
const sliced = mode === 'sliced';
const options = {
  intraOpNumThreads: 2,
  interOpNumThreads: 1,
  logSeverityLevel: 3,
  graphOptimizationLevel: 'all',
  enableMemPattern: !sliced,
  enableCpuMemArena: true,
};
const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 2 ** 20;
const rss = () => process.memoryUsage.rss() / 2 ** 30;
const weights = await ort.InferenceSession.create(big, options);
const unet = await ort.InferenceSession.create(top, options);
const decoder = await ort.InferenceSession.create(vae, options);
console.log(`loaded: RSS ${rss().toFixed(2)} GB`);
const rows = sliced ? [1, 1, 1, 1] : [4];
const t0 = performance.now();
for (let step = 0; step < 2; step++) {
  for (const b of rows) {
    await unet.run({
      sample: new ort.Tensor('float32', new Float32Array(b * 4 * 64 * 64).fill(0.1), [b, 4, 64, 64]),
      timestep: new ort.Tensor('int64', BigInt64Array.of(500n), [1]),
      encoder_hidden_states: new ort.Tensor('float32', new Float32Array(b * 77 * 768).fill(0.01), [b, 77, 768]),
    });
  }
}
const t1 = performance.now();
console.log(
  `${mode}: 2 steps of 4 rows in ${rows.length} call(s) each: ${((t1 - t0) / 2000).toFixed(2)} s per step; RSS ${rss().toFixed(2)} GB, peak ${hwm().toFixed(2)} GB`,
);
for (let i = 0; i < 2; i++) await decoder.run({ latent_sample: new ort.Tensor('float32', new Float32Array(4 * 64 * 64).fill(0.1), [1, 4, 64, 64]) });
console.log(`after decoding 2 images at 512 px: RSS ${rss().toFixed(2)} GB, peak ${hwm().toFixed(2)} GB`);
void weights;
