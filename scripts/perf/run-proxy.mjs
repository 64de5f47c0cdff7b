// One measurement in a fresh process (so peak RSS is this configuration's own):
//   node scripts/perf/run-proxy.mjs MODEL.onnx '{"sizes":[[4,64]], "repeats":2, "arena":true, "pattern":true, "threads":2}'
// `sizes` is a sequence of [batch, latent side] calls, each run `repeats` times (first of each is a warm-up when
// repeats > 1). Prints JSON: per call ms, VmRSS after each call and VmHWM (peak RSS) at the end, session creation ms.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { float32ToFloat16 } from '../../dist/core/float16.js';

const [model, optionsText] = process.argv.slice(2);
const o = { sizes: [[1, 64]], repeats: 2, arena: true, pattern: true, threads: 2, level: 'all', spinning: false, ...JSON.parse(optionsText ?? '{}') };
const status = () =>
  Object.fromEntries(
    readFileSync('/proc/self/status', 'utf8')
      .split('\n')
      .filter((l) => /^Vm(RSS|HWM)/.test(l))
      .map((l) => [l.split(':')[0], Number(l.split(/\s+/)[1]) * 1024]),
  );
const gb = (b) => Math.round((b / 2 ** 30) * 1000) / 1000;
const spin = o.spinning ? '1' : '0';
const t0 = performance.now();
const session = await ort.InferenceSession.create(model, {
  executionProviders: ['cpu'],
  intraOpNumThreads: o.threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: o.level,
  enableCpuMemArena: o.arena,
  enableMemPattern: o.pattern,
  logSeverityLevel: 3,
  ...(o.optimizedPath ? { optimizedModelFilePath: o.optimizedPath } : {}),
  extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin }, ...(o.extra ?? {}) } },
});
const createMs = performance.now() - t0;
const afterCreate = status();
const calls = [];
const ctxTokens = o.tokens ?? 77;
for (const [batch, side] of o.sizes) {
  const feeds = {};
  const float = (name, values, dims) => {
    const half = session.inputMetadata.find((m) => m.name === name)?.type === 'float16';
    return half ? new ort.Tensor('float16', float32ToFloat16(values), dims) : new ort.Tensor('float32', values, dims);
  };
  for (const name of session.inputNames) {
    if (name === 'sample' || name === 'latent_sample') feeds[name] = float(name, new Float32Array(batch * 4 * side * side).fill(0.1), [batch, 4, side, side]);
    else if (name === 'timestep') feeds[name] = new ort.Tensor('int64', BigInt64Array.of(500n), [1]);
    else if (name === 'encoder_hidden_states') feeds[name] = float(name, new Float32Array(batch * ctxTokens * 768).fill(0.01), [batch, ctxTokens, 768]);
    else throw new Error(`unknown input ${name}`);
  }
  const times = [];
  const cpu = [];
  for (let i = 0; i < o.repeats; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    await session.run(feeds);
    times.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1000);
  }
  const median = (values) => {
    const v = (values.length > 1 ? values.slice(1) : values).sort((a, b) => a - b);
    return Math.round(v[Math.floor(v.length / 2)]);
  };
  // cpuMs (user + system, all threads) is steadier than wall time when other processes share the cores.
  calls.push({
    batch,
    side,
    ms: median(times),
    minMs: Math.round(Math.min(...(times.length > 1 ? times.slice(1) : times))),
    cpuMs: median(cpu),
    all: times.map(Math.round),
    rssGB: gb(status().VmRSS),
  });
}
const end = status();
console.log(
  JSON.stringify({
    options: o,
    createMs: Math.round(createMs),
    rssAfterCreateGB: gb(afterCreate.VmRSS),
    peakAfterCreateGB: gb(afterCreate.VmHWM),
    calls,
    peakGB: gb(end.VmHWM),
  }),
);
