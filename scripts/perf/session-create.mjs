// Session creation of the big PROXY (write-big-proxy.mjs) in fresh processes, several rounds, alternating:
//   fp16 (as published), fp32 copy at level all, fp32 copy without prepacking, the optimized graph saved by onnxruntime
//   (optimizedModelFilePath) loaded at level disabled. Prints min/median creation ms, first-call ms and RSS.
//   node scripts/perf/session-create.mjs DIR [rounds]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '/tmp/pmg-big-proxy';
const rounds = Number(process.argv[3] ?? 3);
const run = (model, options) =>
  JSON.parse(
    execFileSync('node', ['scripts/perf/run-proxy.mjs', join(dir, model), JSON.stringify({ sizes: [[1, 8]], repeats: 1, pattern: false, ...options })], {
      encoding: 'utf8',
    }),
  );
const optimized = join(dir, 'optimized.onnx');
if (!existsSync(optimized)) {
  const saved = run('model.fp32.onnx', {
    optimizedPath: optimized,
    extra: { optimized_model_external_initializers_file_name: 'optimized.onnx.data', optimized_model_external_initializers_min_size_in_bytes: '1024' },
  });
  console.log(`saving the optimized graph: ${saved.createMs} ms`);
}
const variants = {
  'fp16 as published, level all': ['model.onnx', {}],
  'fp32 copy, level all': ['model.fp32.onnx', {}],
  'fp32 copy, level all, no prepacking': ['model.fp32.onnx', { extra: { disable_prepacking: '1' } }],
  'fp32 copy, level basic': ['model.fp32.onnx', { level: 'basic' }],
  'optimized graph, level disabled': ['optimized.onnx', { level: 'disabled' }],
};
const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, [model, options]] of Object.entries(variants)) {
    const out = run(model, options);
    results[name].push({ create: out.createMs, first: out.calls[0].ms, rss: out.calls[0].rssGB, peak: out.peakGB });
  }
}
const med = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const [name, list] of Object.entries(results)) {
  const c = list.map((x) => x.create);
  console.log(
    `${name}: create min ${Math.min(...c)} ms, median ${med(c)} ms; first call ${med(list.map((x) => x.first))} ms; RSS after ${med(list.map((x) => x.rss))} GB, peak ${med(list.map((x) => x.peak))} GB`,
  );
}
