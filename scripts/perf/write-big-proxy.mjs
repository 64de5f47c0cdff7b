// Writes the session-creation PROXY (scripts/perf/proxy-graphs.mjs bigStack, ~860 M parameters) as an fp16 graph
// (inline, like web fp16 exports) and its fp32 copy made by pmg's converter (external data):
//   node scripts/perf/write-big-proxy.mjs DIR [params]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertOnnxToFp32 } from '../../dist/runtime/onnx-fp32.js';
import { bigStack } from './proxy-graphs.mjs';

const dir = process.argv[2] ?? '/tmp/pmg-big-proxy';
const params = Number(process.argv[3] ?? 860e6);
mkdirSync(dir, { recursive: true });
let t = performance.now();
const { graph, params: total } = bigStack({ params, half: true });
const bytes = graph.toBytes();
writeFileSync(join(dir, 'model.onnx'), bytes);
console.log(
  `fp16 proxy: ${(total / 1e6).toFixed(1)} M parameters, ${(bytes.length / 2 ** 30).toFixed(2)} GB, ${((performance.now() - t) / 1000).toFixed(1)} s`,
);
t = performance.now();
const conversion = convertOnnxToFp32(join(dir, 'model.onnx'), join(dir, 'model.fp32.onnx'));
console.log(`fp32 copy: ${(conversion.bytes / 2 ** 30).toFixed(2)} GB, ${conversion.tensors} tensors, ${(conversion.ms / 1000).toFixed(1)} s`);
