/**
 * Test helper: a float64 copy of a float32 ONNX model (initializers, inputs, outputs, Cast targets and constant
 * tensors converted), so finite differences can be taken in double precision. Inline weights only.
 */
import onnxProto from 'onnx-proto';
import { DataType } from '../../fixtures/onnx-graph.js';

const { onnx } = onnxProto;
type Tensor = onnxProto.onnx.ITensorProto;

function toDouble(t: Tensor): void {
  if (t.dataType !== DataType.FLOAT) return;
  let values: Float32Array;
  if (t.rawData && t.rawData.length) values = new Float32Array(Uint8Array.from(t.rawData).buffer);
  else values = Float32Array.from(t.floatData ?? []);
  if (t.dataLocation === 1) throw new Error(`float64 copy: tensor ${t.name} has external data`);
  const doubles = Float64Array.from(values);
  t.dataType = DataType.DOUBLE;
  t.floatData = [];
  t.rawData = new Uint8Array(doubles.buffer);
}

export function float64Model(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const opset = Number((model.opsetImport ?? []).find((o) => !o.domain)?.version ?? 0);
  for (const t of graph.initializer ?? []) toDouble(t);
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
    if (v.type?.tensorType?.elemType === DataType.FLOAT) v.type.tensorType.elemType = DataType.DOUBLE;
  }
  for (const node of graph.node ?? []) {
    // The normalizations compute their statistics in float32 unless stash_type says otherwise (GroupNormalization
    // has the attribute from opset 21).
    if ((node.opType === 'GroupNormalization' && opset >= 21) || node.opType === 'LayerNormalization') {
      node.attribute = [
        ...(node.attribute ?? []).filter((a) => a.name !== 'stash_type'),
        { name: 'stash_type', type: onnx.AttributeProto.AttributeType.INT, i: DataType.DOUBLE },
      ];
    }
    for (const a of node.attribute ?? []) {
      if (node.opType === 'Cast' && a.name === 'to' && Number(a.i) === DataType.FLOAT) a.i = DataType.DOUBLE;
      if (a.t) toDouble(a.t);
    }
  }
  return onnx.ModelProto.encode(model).finish();
}
