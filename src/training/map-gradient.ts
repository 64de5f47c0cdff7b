/**
 * The map's part of the backward pass, in JS (exact; the map is y = W·h + b per soft row, PyTorch's nn.Linear):
 * from the gradient of the loss with respect to the N soft rows of the UNet's encoder_hidden_states, g [N, condWidth],
 * and the LLM states the map read, h [N, hidden]: dW += gᵀ·h, db += Σ_rows g. Accumulated into `into`.
 */
export interface MapGradients {
  'map.weight': Float32Array;
  'map.bias': Float32Array;
}

export function addMapGradients(into: MapGradients, rowGrads: Float32Array, states: Float32Array, rows: number, scale = 1): void {
  const outputs = into['map.bias'].length;
  const inputs = into['map.weight'].length / outputs;
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outputs; o++) {
      const g = rowGrads[r * outputs + o]! * scale;
      if (g === 0) continue;
      into['map.bias'][o] = into['map.bias'][o]! + g;
      const w = o * inputs;
      const h = r * inputs;
      for (let i = 0; i < inputs; i++) into['map.weight'][w + i] = into['map.weight'][w + i]! + g * states[h + i]!;
    }
  }
}
