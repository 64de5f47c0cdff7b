/**
 * Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ (norm type 2) computes it in float32: the norm
 * of the per-tensor norms; when it exceeds `maxNorm`, every gradient is multiplied by maxNorm / (norm + 1e-6).
 * Returns the norm before clipping (what the training log records).
 */
const f32 = Math.fround;

export function clipGradNorm(grads: Readonly<Record<string, Float32Array>>, maxNorm: number): number {
  let squares = 0;
  for (const g of Object.values(grads)) {
    let sum = 0;
    for (let i = 0; i < g.length; i++) sum += g[i]! * g[i]!;
    const norm = f32(Math.sqrt(sum));
    squares += norm * norm;
  }
  const total = f32(Math.sqrt(squares));
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) return total;
  const coefficient = f32(maxNorm / (total + 1e-6));
  if (coefficient < 1) {
    for (const g of Object.values(grads)) for (let i = 0; i < g.length; i++) g[i] = f32(g[i]! * coefficient);
  }
  return total;
}
