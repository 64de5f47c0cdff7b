/**
 * Backward passes of PyTorch's nn.Linear (y = x·Wᵀ + b per row), in JS (exact): the soft module's map, and the two
 * layers of the prefix MLP (soft-parameters.ts). From the gradient g [rows, outputs] of the loss with respect to y and
 * the inputs x [rows, inputs]: dW += gᵀ·x, db += Σ_rows g (accumulated), dx = g·W.
 */
export interface MapGradients {
  'map.weight': Float32Array;
  'map.bias': Float32Array;
}

/** dW += scale·gᵀ·x and db += scale·Σ_rows g, into `weightGrad` [outputs, inputs] and `biasGrad` [outputs]. */
export function addLinearGradients(
  weightGrad: Float32Array,
  biasGrad: Float32Array,
  rowGrads: Float32Array,
  inputs: Float32Array,
  rows: number,
  scale = 1,
): void {
  const outputs = biasGrad.length;
  const width = weightGrad.length / outputs;
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outputs; o++) {
      const g = rowGrads[r * outputs + o]! * scale;
      if (g === 0) continue;
      biasGrad[o] = biasGrad[o]! + g;
      const w = o * width;
      const x = r * width;
      for (let i = 0; i < width; i++) weightGrad[w + i] = weightGrad[w + i]! + g * inputs[x + i]!;
    }
  }
}

/** The map's gradients (names as in the checkpoint), accumulated into `into`. */
export function addMapGradients(into: MapGradients, rowGrads: Float32Array, states: Float32Array, rows: number, scale = 1): void {
  addLinearGradients(into['map.weight'], into['map.bias'], rowGrads, states, rows, scale);
}

/** dx = g·W: the gradient with respect to the layer's input rows, [rows, inputs]. */
export function linearInputGradients(rowGrads: Float32Array, rows: number, weight: Float32Array, outputs: number): Float32Array {
  const inputs = weight.length / outputs;
  const dx = new Float32Array(rows * inputs);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outputs; o++) {
      const g = rowGrads[r * outputs + o]!;
      if (g === 0) continue;
      const w = o * inputs;
      for (let i = 0; i < inputs; i++) dx[r * inputs + i] = dx[r * inputs + i]! + g * weight[w + i]!;
    }
  }
  return dx;
}
