/**
 * UNet forward vs gradient timing and peak RSS (docs/autodiff.md, Memory and time). After 'npx tsc':
 *   node scripts/perf/autodiff-unet-timing.mjs MODEL.onnx forward|grad-ehs|grad-both [px=256] [tokens=77] [reps=2] [segments=1]
 * Run each mode in its own process (VmHWM is per process).
 */
import { readFileSync } from 'node:fs';
import { openGradientSession } from '../../dist/autodiff/gradient-session.js';
import { OnnxSession, ort } from '../../dist/runtime/onnx-session.js';
const [path, mode, px, tokens, reps] = [
  process.argv[2],
  process.argv[3],
  Number(process.argv[4] ?? 256),
  Number(process.argv[5] ?? 77),
  Number(process.argv[6] ?? 2),
];
const lat = px / 8;
const rnd = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37));
const feeds = { sample: { data: rnd(4 * lat * lat), dims: [1, 4, lat, lat] }, encoder_hidden_states: { data: rnd(tokens * 768), dims: [1, tokens, 768] } };
const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const base = hwm();
let run;
if (mode === 'forward') {
  const s = await OnnxSession.create(path, { intraOpThreads: 2 });
  const info = s.inputInfo('timestep');
  const ts =
    info.type === 'float32'
      ? new ort.Tensor('float32', Float32Array.of(500), info.shape.length ? [1] : [])
      : new ort.Tensor('int64', BigInt64Array.of(500n), [1]);
  run = () =>
    s.run({
      sample: new ort.Tensor('float32', feeds.sample.data, feeds.sample.dims),
      encoder_hidden_states: new ort.Tensor('float32', feeds.encoder_hidden_states.data, feeds.encoder_hidden_states.dims),
      timestep: ts,
    });
} else {
  const wrt = mode === 'grad-ehs' ? ['encoder_hidden_states'] : ['encoder_hidden_states', 'sample'];
  const s = await openGradientSession(path, { wrt, output: 'out_sample', head: 'mse', threads: 2, checkpointSegments: Number(process.argv[7] ?? 1) });
  const realScale = path.includes('real-scale');
  const ts = realScale ? { data: Float32Array.of(500), dims: [] } : { data: BigInt64Array.of(500n), dims: [1] };
  const t0 = performance.now();
  run = () => s.run({ ...feeds, timestep: ts }, { target: feeds.sample });
}
const times = [];
const afterLoad = hwm();
for (let i = 0; i < reps; i++) {
  const t = performance.now();
  await run();
  times.push(performance.now() - t);
}
console.log(
  JSON.stringify({
    mode,
    px,
    segments: Number(process.argv[7] ?? 1),
    ms: times.map(Math.round),
    peakMiB: Math.round(hwm()),
    afterLoadMiB: Math.round(afterLoad),
  }),
);
