/**
 * One-off check: the real-scale SD 1.5 UNet's gradient (pmg models fixtures --real-scale) against float32 central
 * finite differences at 64 px, 3 coordinates of each input (docs/autodiff.md). After 'npx tsc': node scripts/perf/autodiff-real-scale-fd.mjs
 */
import { openGradientSession } from '../../dist/autodiff/gradient-session.js';
import { OnnxSession, ort } from '../../dist/runtime/onnx-session.js';
const path = process.env.HOME + '/.cache/pmg/real-scale/sd15/unet/model.onnx';
const rnd = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s));
const sample = rnd(4 * 8 * 8, 1),
  ehs = rnd(8 * 768, 2),
  cot = rnd(4 * 8 * 8, 3);
const g = await openGradientSession(path, { wrt: ['encoder_hidden_states', 'sample'], output: 'out_sample', head: 'cotangent', threads: 2 });
const r = await g.run(
  { sample: { data: sample, dims: [1, 4, 8, 8] }, encoder_hidden_states: { data: ehs, dims: [1, 8, 768] }, timestep: { data: Float32Array.of(500), dims: [] } },
  { cotangent: { data: cot, dims: [1, 4, 8, 8] } },
);
await g.close();
const f = await OnnxSession.create(path, { intraOpThreads: 2 });
const fwd = async (s, e) => {
  const o = await f.run({
    sample: new ort.Tensor('float32', s, [1, 4, 8, 8]),
    encoder_hidden_states: new ort.Tensor('float32', e, [1, 8, 768]),
    timestep: new ort.Tensor('float32', Float32Array.of(500), []),
  });
  const d = o.out_sample.data;
  let t = 0;
  for (let i = 0; i < d.length; i++) t += d[i] * cot[i];
  return t;
};
const h = 1e-2;
for (const [name, idxs] of [
  ['sample', [5, 100, 200]],
  ['encoder_hidden_states', [7, 1000, 5000]],
])
  for (const i of idxs) {
    const base = name === 'sample' ? sample : ehs;
    const p = base.slice();
    p[i] += h;
    const m = base.slice();
    m[i] -= h;
    const fp = name === 'sample' ? await fwd(p, ehs) : await fwd(sample, p);
    const fm = name === 'sample' ? await fwd(m, ehs) : await fwd(sample, m);
    console.log(name, i, 'analytic', r.grads[name].data[i].toPrecision(6), 'numeric', ((fp - fm) / (2 * h)).toPrecision(6));
  }
