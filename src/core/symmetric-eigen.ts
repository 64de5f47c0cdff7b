/**
 * Eigenvalues (and optionally eigenvectors) of a real symmetric matrix, in float64.
 *
 * Method (Golub & Van Loan, "Matrix Computations", ch. 8.3; written here from the mathematics):
 * 1. The matrix is scaled by a power of two (exact) so its largest entry is in [1, 2).
 * 2. Householder reduction to tridiagonal form T = Q^T A Q (core/householder-tridiagonal.ts): for k = 0..n-3 a reflector
 *    H = I - beta v v^T maps row k right of the diagonal onto a multiple of e_1, and the trailing
 *    block B becomes H B H = B - v w^T - w v^T with p = beta B v, w = p - (beta/2)(p.v) v.
 *    Only the upper triangle is kept, so every loop runs along contiguous rows. About 4n^3/3 flops,
 *    blocked by panels of 32 reflectors (LAPACK's dsytrd scheme) so that half of them run in the cache-
 *    blocked product of core/matrix-product.ts; the other half (B v, one pass over B per column) is
 *    memory-bound. Eigenvalues only (the default) of a 2048 x 2048 matrix: 4-6 s on one core here.
 * 3. Eigenvalues of T by the implicit symmetric QR algorithm with Wilkinson shifts: a bulge is chased
 *    down the unreduced block by Givens rotations; an off-diagonal entry is set to zero when it is at
 *    most eps (|d_i| + |d_{i+1}|). O(n^2) in all when no vectors are asked for.
 * 4. With vectors: Q^T is formed by backward accumulation of the reflectors (about 4n^3/3 flops) and
 *    each Givens rotation of step 3 is applied to two adjacent rows of it (rows of Q^T are columns of
 *    Q, so the rotation stays contiguous); its rows end up being the eigenvectors.
 * Eigenvalues are backward stable: absolute errors are a small multiple of eps * ||A|| (like LAPACK's
 * dsyev); tiny eigenvalues of near-singular matrices are thus known to about 1e-16 * ||A||.
 */
import { tridiagonalize } from './householder-tridiagonal.js';
import { dot } from './matrix-product.js';

export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /** When asked for: eigenvector j (of values[j], unit length) is vectors.subarray(j*n, (j+1)*n). */
  vectors?: Float64Array;
}

const EPS = 2 ** -52;
/** An off-diagonal entry this small (T scaled to norm ~1) is zero for every purpose. */
const TINY = 1e-300;
/** QR steps allowed for one eigenvalue; Wilkinson-shifted QR needs 2-3 on average. */
const MAX_STEPS_PER_VALUE = 60;
/** Reflectors applied together to one row of Q^T while it is in cache. */
const REFLECTOR_BLOCK = 16;

/** `matrix` is n x n row-major; only its symmetric part is used (it is averaged with its transpose). */
export function symmetricEigen(matrix: Float64Array, n: number, withVectors = false): SymmetricEigen {
  if (!Number.isInteger(n) || n < 0 || matrix.length !== n * n) {
    throw new RangeError(`symmetricEigen: ${matrix.length} values for a ${n}x${n} matrix`);
  }
  const a = new Float64Array(n * n);
  let maxAbs = 0;
  let finite = true;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const value = (matrix[i * n + j]! + matrix[j * n + i]!) / 2;
      a[i * n + j] = value;
      const size = Math.abs(value);
      if (size > maxAbs) maxAbs = size;
      else if (!(size <= maxAbs)) finite = false;
    }
  }
  if (!finite || !Number.isFinite(maxAbs)) return nanResult(n, withVectors);
  if (maxAbs === 0) return zeroResult(n, withVectors);
  // Power-of-two scaling: exact, and keeps squares of entries far from overflow and underflow.
  const exponent = Math.floor(Math.log2(maxAbs));
  scaleUpperTriangle(a, n, -exponent);

  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const betas = new Float64Array(n);
  tridiagonalize(a, n, d, e, betas);
  const vt = withVectors ? accumulateReflectors(a, n, betas) : undefined;
  tridiagonalQr(d, e, n, vt);

  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[i]! - d[j]!);
  const values = Float64Array.from(order, (i) => d[i]!);
  scaleInPlace(values, exponent);
  if (!vt) return { values };
  const vectors = new Float64Array(n * n);
  order.forEach((from, to) => vectors.set(vt.subarray(from * n, from * n + n), to * n));
  return { values, vectors };
}

/**
 * Q^T = H_{n-3} ... H_1 H_0 (each H symmetric). Row i of Q^T is e_i^T H_{n-3} ... H_0, so rows are
 * independent: x_i <- x_i - beta (x_i . v) v^T for k = n-3 down to 0 (only k < i changes row i, and
 * only its entries right of k). Reflectors are taken in blocks so a row stays in cache while a block
 * of reflector vectors is applied to it.
 */
function accumulateReflectors(a: Float64Array, n: number, betas: Float64Array): Float64Array {
  const x = new Float64Array(n * n);
  for (let i = 0; i < n; i++) x[i * n + i] = 1;
  for (let top = n - 3; top >= 0; top -= REFLECTOR_BLOCK) {
    const bottom = Math.max(0, top - REFLECTOR_BLOCK + 1);
    for (let i = bottom + 1; i < n; i++) {
      const ri = i * n;
      for (let k = Math.min(top, i - 1); k >= bottom; k--) {
        const beta = betas[k]!;
        if (beta === 0) continue;
        const row = k * n;
        const t = beta * dot(x, ri, a, row, k + 1, n);
        if (t === 0) continue;
        for (let j = k + 1; j < n; j++) x[ri + j]! -= t * a[row + j]!;
      }
    }
  }
  return x;
}

/**
 * Implicit symmetric QR with Wilkinson shifts on (d, e); d ends up holding the eigenvalues. When `vt`
 * is given, every rotation G of rows/columns (k, k+1) is applied as V <- V G to the rows of vt = V^T.
 */
function tridiagonalQr(d: Float64Array, e: Float64Array, n: number, vt: Float64Array | undefined): void {
  const negligible = (i: number): boolean => {
    const size = Math.abs(e[i]!);
    return size <= EPS * (Math.abs(d[i]!) + Math.abs(d[i + 1]!)) || size <= TINY;
  };
  let hi = n - 1;
  let steps = 0;
  while (hi > 0) {
    if (negligible(hi - 1)) {
      e[hi - 1] = 0;
      hi--;
      steps = 0;
      continue;
    }
    let lo = hi - 1;
    while (lo > 0 && !negligible(lo - 1)) lo--;
    if (lo > 0) e[lo - 1] = 0;
    if (++steps > MAX_STEPS_PER_VALUE) {
      throw new RangeError(`symmetricEigen: the QR iteration did not converge for eigenvalue ${hi} of ${n}`);
    }
    qrStep(d, e, lo, hi, n, vt);
  }
}

/** One implicit QR step with the Wilkinson shift on the unreduced block lo..hi. */
function qrStep(d: Float64Array, e: Float64Array, lo: number, hi: number, n: number, vt: Float64Array | undefined): void {
  // Shift: the eigenvalue of the trailing 2x2 block closer to its last diagonal entry.
  const b = e[hi - 1]!;
  const delta = (d[hi - 1]! - d[hi]!) / 2;
  const root = hypot(delta, b);
  const mu = d[hi]! - b * (b / (delta >= 0 ? delta + root : delta - root));
  let x = d[lo]! - mu;
  let z = e[lo]!;
  for (let k = lo; k < hi; k++) {
    const r = hypot(x, z);
    let c = 1;
    let s = 0;
    if (r !== 0) {
      c = x / r;
      s = z / r;
    }
    if (k > lo) e[k - 1] = r;
    // (k, k+1) block [[dk, ek], [ek, dk1]] -> G^T block G, with G = [[c, -s], [s, c]].
    const dk = d[k]!;
    const ek = e[k]!;
    const diff = d[k + 1]! - dk;
    const g = s * (s * diff + 2 * c * ek);
    d[k] = dk + g;
    d[k + 1]! -= g;
    e[k] = c * s * diff + (c * c - s * s) * ek;
    if (k + 1 < hi) {
      // The rotation creates the bulge at (k+2, k); the next rotation removes it.
      const next = e[k + 1]!;
      z = s * next;
      e[k + 1] = c * next;
      x = e[k]!;
    }
    if (vt) rotateRows(vt, k * n, (k + 1) * n, n, c, s);
  }
}

function rotateRows(vt: Float64Array, rowA: number, rowB: number, n: number, c: number, s: number): void {
  for (let j = 0; j < n; j++) {
    const p = vt[rowA + j]!;
    const q = vt[rowB + j]!;
    vt[rowA + j] = c * p + s * q;
    vt[rowB + j] = c * q - s * p;
  }
}

/** sqrt(x^2 + y^2) without overflow or underflow of the squares. */
function hypot(x: number, y: number): number {
  let big = Math.abs(x);
  let small = Math.abs(y);
  if (small > big) {
    const t = big;
    big = small;
    small = t;
  }
  if (big === 0) return 0;
  const ratio = small / big;
  return big * Math.sqrt(1 + ratio * ratio);
}

/** Multiplies the upper triangle by 2^power (in two exact steps so neither factor overflows). */
function scaleUpperTriangle(a: Float64Array, n: number, power: number): void {
  const first = 2 ** Math.trunc(power / 2);
  const second = 2 ** (power - Math.trunc(power / 2));
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[i * n + j]! * first * second;
}

function scaleInPlace(values: Float64Array, power: number): void {
  const first = 2 ** Math.trunc(power / 2);
  const second = 2 ** (power - Math.trunc(power / 2));
  for (let i = 0; i < values.length; i++) values[i] = values[i]! * first * second;
}

function zeroResult(n: number, withVectors: boolean): SymmetricEigen {
  const values = new Float64Array(n);
  if (!withVectors) return { values };
  const vectors = new Float64Array(n * n);
  for (let i = 0; i < n; i++) vectors[i * n + i] = 1;
  return { values, vectors };
}

function nanResult(n: number, withVectors: boolean): SymmetricEigen {
  const values = new Float64Array(n).fill(Number.NaN);
  return withVectors ? { values, vectors: new Float64Array(n * n).fill(Number.NaN) } : { values };
}
