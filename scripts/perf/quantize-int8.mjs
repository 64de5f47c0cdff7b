// A measurement tool, not a product feature: rewrites an fp32 ONNX graph with dynamic int8 quantization the way
// onnxruntime.quantization.quantize_dynamic does (per-tensor, symmetric int8 MatMul weights; uint8 Conv weights
// with zero point 128; activations quantized per call by DynamicQuantizeLinear):
//   MatMul(x, W)    -> com.microsoft.DynamicQuantizeMatMul(x, Wq, scale, 0)
//   Conv(x, W, b)   -> DynamicQuantizeLinear(x) -> ConvInteger(xq, Wq, x_zp, 128) -> Cast -> Mul(x_scale * scale) (+ b)
//   node scripts/perf/quantize-int8.mjs IN.onnx OUT.onnx [--no-conv]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const [input, output, flag] = process.argv.slice(2);
const model = onnx.ModelProto.decode(readFileSync(input));
const graph = model.graph;
const floats = (t) => {
  let bytes = t.rawData;
  if (Number(t.dataLocation ?? 0) === 1) {
    const e = Object.fromEntries(t.externalData.map((x) => [x.key, x.value]));
    const all = readFileSync(join(dirname(input), e.location));
    bytes = all.subarray(Number(e.offset ?? 0), Number(e.offset ?? 0) + Number(e.length));
  }
  return new Float32Array(Uint8Array.from(bytes).buffer);
};
const inits = new Map(graph.initializer.map((t) => [t.name, t]));
let counter = 0;
const fresh = (p) => `${p}_q${counter++}`;
const tensor = (name, dataType, dims, bytes) => ({ name, dataType, dims, rawData: bytes });
const scalarF = (v) => {
  const name = fresh('s');
  graph.initializer.push(tensor(name, 1, [], new Uint8Array(Float32Array.of(v).buffer)));
  return name;
};
const nodes = [];
let matmuls = 0;
let convs = 0;
for (const node of graph.node) {
  const w = inits.get(node.input[1]);
  if (node.opType === 'MatMul' && w && w.dims.length === 2) {
    const values = floats(w);
    let max = 0;
    for (const v of values) max = Math.max(max, Math.abs(v));
    const scale = max / 127 || 1;
    const q = Int8Array.from(values, (v) => Math.round(v / scale));
    const qName = fresh('wq');
    graph.initializer.push(tensor(qName, 3, w.dims, new Uint8Array(q.buffer)));
    const zero = fresh('wz');
    graph.initializer.push(tensor(zero, 3, [], new Uint8Array(1)));
    nodes.push({
      opType: 'DynamicQuantizeMatMul',
      domain: 'com.microsoft',
      name: fresh('dqmm'),
      input: [node.input[0], qName, scalarF(scale), zero],
      output: node.output,
    });
    matmuls++;
    continue;
  }
  if (node.opType === 'Conv' && w && flag !== '--no-conv') {
    const values = floats(w);
    let max = 0;
    for (const v of values) max = Math.max(max, Math.abs(v));
    const scale = max / 127 || 1;
    const q = Uint8Array.from(values, (v) => Math.round(v / scale) + 128);
    const qName = fresh('wq');
    graph.initializer.push(tensor(qName, 2, w.dims, q));
    const zero = fresh('wz');
    graph.initializer.push(tensor(zero, 2, [], Uint8Array.of(128)));
    const [xq, xs, xz] = [fresh('xq'), fresh('xs'), fresh('xz')];
    nodes.push({ opType: 'DynamicQuantizeLinear', name: fresh('dql'), input: [node.input[0]], output: [xq, xs, xz] });
    const acc = fresh('acc');
    nodes.push({ opType: 'ConvInteger', name: fresh('convi'), input: [xq, qName, xz, zero], output: [acc], attribute: node.attribute });
    const f = fresh('f');
    nodes.push({ opType: 'Cast', name: fresh('cast'), input: [acc], output: [f], attribute: [{ name: 'to', type: 2, i: 1 }] });
    const s = fresh('scale');
    nodes.push({ opType: 'Mul', name: fresh('mul'), input: [xs, scalarF(scale)], output: [s] });
    const bias = node.input[2];
    if (bias) {
      const scaled = fresh('scaled');
      nodes.push({ opType: 'Mul', name: fresh('mul'), input: [f, s], output: [scaled] });
      const b = inits.get(bias);
      const reshaped = fresh('b4');
      graph.initializer.push(tensor(reshaped, 1, [1, Number(b.dims[0]), 1, 1], new Uint8Array(floats(b).buffer)));
      nodes.push({ opType: 'Add', name: fresh('add'), input: [scaled, reshaped], output: node.output });
    } else nodes.push({ opType: 'Mul', name: fresh('mul'), input: [f, s], output: node.output });
    convs++;
    continue;
  }
  nodes.push(node);
}
graph.node = nodes;
const used = new Set(nodes.flatMap((n) => n.input));
graph.initializer = graph.initializer
  .filter((t) => used.has(t.name))
  .map((t) => {
    if (Number(t.dataLocation ?? 0) === 1)
      return tensor(t.name, t.dataType, t.dims, Uint8Array.from(floats(t).buffer instanceof ArrayBuffer ? new Uint8Array(floats(t).buffer) : []));
    return t;
  });
if (!model.opsetImport.some((o) => o.domain === 'com.microsoft')) model.opsetImport.push({ domain: 'com.microsoft', version: 1 });
writeFileSync(output, onnx.ModelProto.encode(model).finish());
console.log(`quantized ${matmuls} MatMul and ${convs} Conv weights -> ${output}`);
