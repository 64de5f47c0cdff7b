/**
 * Householder reduction of a symmetric matrix to tridiagonal form, T = Qᵀ A Q (Golub & Van Loan, "Matrix
 * Computations", 8.3.1; LAPACK's dsytrd/dlatrd blocking), the O(n³) step of core/symmetric-eigen.ts.
 * Works on the upper triangle of a row-major n x n array, in place.
 */
import { addProductTransposed, block, dot } from './matrix-product.js';

/** Reflectors made per panel of the blocked reduction. */
const PANEL = 32;

/**
 * Householder tridiagonalization of the upper triangle of `a` (scaled). On return d/e hold T's
 * diagonal and off-diagonal, and row k of `a` right of the diagonal holds reflector k's vector v
 * (betas[k] = 0 where no reflection was needed).
 *
 * Blocked as LAPACK's dsytrd/dlatrd do: reflectors are made PANEL at a time. Within a panel the trailing
 * matrix in `a` is left stale; what the panel's earlier reflectors did to it is carried as the pairs
 * (v_p, w_p) and applied on the fly (to row k before its reflector is made, and to the product B v), so
 * the trailing matrix is rewritten once per panel, by one rank-2·PANEL product in core/matrix-product.ts,
 * instead of once per column. Same reflectors as the unblocked algorithm, up to rounding.
 */
export function tridiagonalize(a: Float64Array, n: number, d: Float64Array, e: Float64Array, betas: Float64Array): void {
  const p = new Float64Array(n);
  const vRows = new Float64Array(PANEL * n);
  const wRows = new Float64Array(PANEL * n);
  for (let k0 = 0; k0 < n - 2; k0 += PANEL) {
    const k1 = Math.min(n - 2, k0 + PANEL);
    vRows.fill(0);
    wRows.fill(0);
    for (let k = k0; k < k1; k++) {
      const q = k - k0;
      const row = k * n;
      // Row k as the panel's earlier reflectors left it.
      for (let r = 0; r < q; r++) {
        const vk = vRows[r * n + k]!;
        const wk = wRows[r * n + k]!;
        if (vk === 0 && wk === 0) continue;
        const vr = r * n;
        for (let j = k; j < n; j++) a[row + j]! -= vk * wRows[vr + j]! + wk * vRows[vr + j]!;
      }
      const start = k + 1;
      d[k] = a[row + k]!;
      let scale = 0;
      for (let j = start; j < n; j++) scale += Math.abs(a[row + j]!);
      if (scale === 0) {
        e[k] = 0;
        betas[k] = 0;
        continue;
      }
      let sigma = 0;
      for (let j = start + 1; j < n; j++) {
        const x = a[row + j]! / scale;
        a[row + j] = x;
        sigma += x * x;
      }
      const alpha = a[row + start]! / scale;
      if (sigma === 0) {
        // Already tridiagonal in this column.
        e[k] = a[row + start]!;
        betas[k] = 0;
        continue;
      }
      // v = x - r e_1 with r = -sign(alpha) |x| (no cancellation); H x = r e_1; beta = 2 / (v.v).
      const norm = Math.sqrt(alpha * alpha + sigma);
      const r = alpha > 0 ? -norm : norm;
      a[row + start] = alpha - r;
      const beta = 1 / (r * (r - alpha));
      e[k] = r * scale;
      betas[k] = beta;

      // p = B v from the upper triangle of the (stale) trailing block B = a[start.., start..].
      symmetricTimesVector(a, n, start, row, p);
      // ... minus what the panel's earlier reflectors subtract from B: (v_r w_rᵀ + w_r v_rᵀ) v.
      for (let rr = 0; rr < q; rr++) {
        const base = rr * n;
        const wv = dot(wRows, base, a, row, start, n);
        const vv = dot(vRows, base, a, row, start, n);
        if (wv === 0 && vv === 0) continue;
        for (let i = start; i < n; i++) p[i]! -= vRows[base + i]! * wv + wRows[base + i]! * vv;
      }
      let pv = 0;
      for (let i = start; i < n; i++) {
        p[i]! *= beta;
        pv += p[i]! * a[row + i]!;
      }
      const half = (beta * pv) / 2;
      const vq = q * n;
      for (let i = start; i < n; i++) {
        const vi = a[row + i]!;
        vRows[vq + i] = vi;
        wRows[vq + i] = p[i]! - half * vi;
      }
    }
    // Trailing block (rows and columns k1..): B -= V Wᵀ + W Vᵀ, upper triangle, as one product
    // [V W] [W V]ᵀ with the panel's vectors laid out index-major.
    const count = k1 - k0;
    const size = n - k1;
    const width = 2 * count;
    const left = new Float64Array(size * width);
    const right = new Float64Array(size * width);
    for (let i = 0; i < size; i++) {
      for (let r = 0; r < count; r++) {
        const v = vRows[r * n + k1 + i]!;
        const w = wRows[r * n + k1 + i]!;
        left[i * width + r] = v;
        left[i * width + count + r] = w;
        right[i * width + r] = w;
        right[i * width + count + r] = v;
      }
    }
    addProductTransposed(size, size, width, block(left, width), block(right, width), block(a, n, k1, k1), -1, true);
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + n - 2]!;
    e[n - 2] = a[(n - 2) * n + n - 1]!;
  }
  if (n >= 1) d[n - 1] = a[n * n - 1]!;
}

/**
 * p[start..] = B v for the symmetric B = a[start.., start..] (upper triangle stored) and v = a[row + start..].
 * Eight rows of B at a time, so each p[j] is loaded and stored once per eight rows: this pass over B is
 * memory-bound, it is half the flops of the reduction and cannot be blocked. The 8 x 8 corner on the
 * diagonal of each band of rows is done entry by entry.
 */
function symmetricTimesVector(a: Float64Array, n: number, start: number, row: number, p: Float64Array): void {
  p.fill(0, start, n);
  let i = start;
  for (; i + 7 < n; i += 8) {
    const r0 = i * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    const r4 = r3 + n;
    const r5 = r4 + n;
    const r6 = r5 + n;
    const r7 = r6 + n;
    const v0 = a[row + i]!;
    const v1 = a[row + i + 1]!;
    const v2 = a[row + i + 2]!;
    const v3 = a[row + i + 3]!;
    const v4 = a[row + i + 4]!;
    const v5 = a[row + i + 5]!;
    const v6 = a[row + i + 6]!;
    const v7 = a[row + i + 7]!;
    let acc0 = 0,
      acc1 = 0,
      acc2 = 0,
      acc3 = 0,
      acc4 = 0,
      acc5 = 0,
      acc6 = 0,
      acc7 = 0;
    for (let j = i + 8; j < n; j++) {
      const vj = a[row + j]!;
      let x = a[r0 + j]!;
      acc0 += x * vj;
      let t = x * v0;
      x = a[r1 + j]!;
      acc1 += x * vj;
      t += x * v1;
      x = a[r2 + j]!;
      acc2 += x * vj;
      t += x * v2;
      x = a[r3 + j]!;
      acc3 += x * vj;
      t += x * v3;
      x = a[r4 + j]!;
      acc4 += x * vj;
      t += x * v4;
      x = a[r5 + j]!;
      acc5 += x * vj;
      t += x * v5;
      x = a[r6 + j]!;
      acc6 += x * vj;
      t += x * v6;
      x = a[r7 + j]!;
      acc7 += x * vj;
      t += x * v7;
      p[j]! += t;
    }
    p[i]! += acc0;
    p[i + 1]! += acc1;
    p[i + 2]! += acc2;
    p[i + 3]! += acc3;
    p[i + 4]! += acc4;
    p[i + 5]! += acc5;
    p[i + 6]! += acc6;
    p[i + 7]! += acc7;
    // The corner: rows i..i+7 against columns i..i+7 (B[r][c] stored at a[(min) * n + max]).
    for (let r = i; r < i + 8; r++) {
      const rr = r * n;
      const vr = a[row + r]!;
      let acc = a[rr + r]! * vr;
      for (let c = r + 1; c < i + 8; c++) {
        const b = a[rr + c]!;
        acc += b * a[row + c]!;
        p[c]! += b * vr;
      }
      p[r]! += acc;
    }
  }
  for (; i < n; i++) {
    const ri = i * n;
    const vi = a[row + i]!;
    let acc = a[ri + i]! * vi;
    for (let j = i + 1; j < n; j++) {
      const aij = a[ri + j]!;
      acc += aij * a[row + j]!;
      p[j]! += aij * vi;
    }
    p[i]! += acc;
  }
}
