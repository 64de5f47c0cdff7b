/**
 * Cosine similarity of two vectors, optionally scaled: (scale · a·b) / (|a| · |b|), 0 when either
 * vector is all zeros. The scale is applied before the division (CLIP logits are 100 · cos computed so).
 * Both vectors must have the same length; callers check it, naming what the vectors are.
 */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>, scale = 1): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  const denominator = Math.sqrt(aa) * Math.sqrt(bb);
  return denominator > 0 ? (scale * ab) / denominator : 0;
}
