/**
 * torch.linspace(start, end, steps, dtype=torch.float32) as torch's CPU kernel computes it, so the betas of the
 * linear and scaled-linear schedules are the very float32 values diffusers' schedulers hold.
 *
 * torch (aten RangeFactoriesKernel, linspace_kernel) converts start and end to float, takes
 * step = (end - start) / (steps - 1) in float, and fills the first half forward from start (start + step * i)
 * and the second half backward from end (end - step * (steps - 1 - i)). The output is written by the
 * vectorised loop in pairs of 8-float vectors (AVX2 and NEON builds): each vector's first value is computed
 * as above with a fused multiply-add, the other lanes as base + j * step (a float product, then a float sum);
 * the elements after the last pair of vectors are computed one by one, again with a fused multiply-add.
 * Checked here against torch 1.13 (AVX2) on 300 random (start, end, steps) and the Stable Diffusion tables:
 * no difference. An AVX-512 build (16-float vectors) may differ in the last bit of some values.
 */

const f32 = Math.fround;
const VECTOR = 8;

const bits = new DataView(new ArrayBuffer(4));

/** The float32 next to `x` (a float32 value) in the direction of `toward`. */
function nextFloat32(x: number, toward: number): number {
  if (x === toward) return x;
  if (x === 0) return toward > 0 ? 2 ** -149 : -(2 ** -149);
  bits.setFloat32(0, x);
  const i = bits.getInt32(0);
  bits.setInt32(0, toward > x === x > 0 ? i + 1 : i - 1);
  return bits.getFloat32(0);
}

/**
 * fma(a, b, c) rounded once to float32, for float32 a, b, c: a * b is exact in float64 (24 + 24 bits), the sum's
 * rounding error is recovered exactly (two-sum), and it breaks the tie when the float64 sum sits exactly halfway
 * between two float32 values (the one case where rounding twice differs from rounding once).
 */
export function fmaFloat32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const sp = s - c;
  const error = p - sp + (c - (s - sp));
  const r = f32(s);
  if (error === 0 || r === s) return r;
  const other = nextFloat32(r, s > r ? Infinity : -Infinity);
  if ((r + other) / 2 !== s) return r;
  // s is a tie in float32: the exact value lies on the side of the error.
  return error > 0 === other > r ? other : r;
}

export function torchLinspaceF32(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  if (steps === 0) return out;
  const a = f32(start);
  if (steps === 1) {
    out[0] = a;
    return out;
  }
  const b = f32(end);
  const step = f32(f32(b - a) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const at = (i: number): number => (i < halfway ? fmaFloat32(step, i, a) : fmaFloat32(-step, steps - 1 - i, b));
  let i = 0;
  // Two vectors per round while two fit, as torch's vectorised loop does; then one value at a time.
  for (; i <= steps - 2 * VECTOR; i += VECTOR) {
    const base = at(i);
    out[i] = base;
    for (let j = 1; j < VECTOR; j++) out[i + j] = f32(base + f32(j * step));
    i += VECTOR;
    const second = at(i);
    out[i] = second;
    for (let j = 1; j < VECTOR; j++) out[i + j] = f32(second + f32(j * step));
  }
  for (; i < steps; i++) out[i] = at(i);
  return out;
}
