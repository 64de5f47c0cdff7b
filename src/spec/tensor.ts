/** A plain float32 tensor: data in row-major order with its shape. The pipeline and schedulers use only this. */
export interface FloatTensor {
  data: Float32Array;
  dims: number[];
}

export function tensorSize(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
