/**
 * A second-order factorization machine (Rendle 2010) for binary labels:
 *
 *   ŷ(x) = w0 + Σ_i w_i x_i + ½ Σ_f [(Σ_i v_if x_i)² − Σ_i v_if² x_i²],   p = σ(ŷ),
 *
 * trained on the log loss ℓ = −[y log p + (1 − y) log(1 − p)] (fm-training.ts). Parameters are float64; the design is
 * the sparse CSR block of feature-encoding.ts.
 *
 * Gradient of one row's objective ℓ + (λ/2) Σ_{i in row} (w_i² + Σ_f v_if²) (the regulariser touches only the row's
 * parameters, as in libFM's SGD), with g = p − y and s_f = Σ_j v_jf x_j:
 *   ∂/∂w0 = g,   ∂/∂w_i = g x_i + λ w_i,   ∂/∂v_if = g x_i (s_f − v_if x_i) + λ v_if.
 */
import { SeededRandom } from '../core/random.js';
import type { SparseDesign } from './feature-encoding.js';

export class FactorizationMachine {
  w0 = 0;
  readonly w: Float64Array;
  /** columns × factors, row-major. */
  readonly v: Float64Array;

  constructor(
    readonly columns: number,
    readonly factors: number,
  ) {
    this.w = new Float64Array(columns);
    this.v = new Float64Array(columns * factors);
  }

  /** w = 0, w0 = 0, v ~ N(0, initStd²) from the seeded generator. */
  static initialised(columns: number, factors: number, random: SeededRandom, initStd = 0.01): FactorizationMachine {
    const model = new FactorizationMachine(columns, factors);
    for (let i = 0; i < model.v.length; i++) model.v[i] = random.nextGaussian() * initStd;
    return model;
  }

  copyFrom(other: FactorizationMachine): void {
    this.w0 = other.w0;
    this.w.set(other.w);
    this.v.set(other.v);
  }

  clone(): FactorizationMachine {
    const copy = new FactorizationMachine(this.columns, this.factors);
    copy.copyFrom(this);
    return copy;
  }

  /** ŷ of design row r; leaves s_f = Σ_j v_jf x_j in `sums` (length factors). */
  logit(design: SparseDesign, r: number, sums: Float64Array): number {
    const F = this.factors;
    const { offsets, indices, values } = design;
    const start = offsets[r]!;
    const end = offsets[r + 1]!;
    sums.fill(0);
    let linear = this.w0;
    let squares = 0;
    for (let k = start; k < end; k++) {
      const i = indices[k]!;
      const x = values[k]!;
      linear += this.w[i]! * x;
      const base = i * F;
      for (let f = 0; f < F; f++) {
        const vx = this.v[base + f]! * x;
        sums[f]! += vx;
        squares += vx * vx;
      }
    }
    let pair = 0;
    for (let f = 0; f < F; f++) pair += sums[f]! * sums[f]!;
    return linear + 0.5 * (pair - squares);
  }

  /** σ(ŷ) for each listed design row (all rows when `rows` is omitted). */
  predict(design: SparseDesign, rows?: Int32Array): Float64Array {
    const sums = new Float64Array(this.factors);
    const n = rows ? rows.length : design.rows;
    const out = new Float64Array(n);
    for (let j = 0; j < n; j++) out[j] = sigmoid(this.logit(design, rows ? rows[j]! : j, sums));
    return out;
  }

  /**
   * The gradient of design row r's regularised objective (see the file comment) into `out`, per nonzero of the row in
   * CSR order: out.w[k] for the k-th nonzero's w, out.v[k·F + f] for its v. Returns the row's log loss.
   */
  rowGradient(design: SparseDesign, r: number, label: number, l2: number, out: RowGradient): number {
    const F = this.factors;
    const { offsets, indices, values } = design;
    const start = offsets[r]!;
    const end = offsets[r + 1]!;
    const z = this.logit(design, r, out.sums);
    const g = sigmoid(z) - label;
    out.w0 = g;
    for (let k = start; k < end; k++) {
      const i = indices[k]!;
      const x = values[k]!;
      const at = k - start;
      out.w[at] = g * x + l2 * this.w[i]!;
      const base = i * F;
      const vAt = at * F;
      for (let f = 0; f < F; f++) {
        const v = this.v[base + f]!;
        out.v[vAt + f] = g * x * (out.sums[f]! - v * x) + l2 * v;
      }
    }
    return logLossOfLogit(z, label);
  }
}

/** Scratch space for one row's gradient; sized for the widest row of a design. */
export interface RowGradient {
  w0: number;
  w: Float64Array;
  v: Float64Array;
  sums: Float64Array;
}

export function rowGradientScratch(design: SparseDesign, factors: number): RowGradient {
  let widest = 0;
  for (let r = 0; r < design.rows; r++) widest = Math.max(widest, design.offsets[r + 1]! - design.offsets[r]!);
  return { w0: 0, w: new Float64Array(widest), v: new Float64Array(widest * factors), sums: new Float64Array(factors) };
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** −[y log σ(z) + (1 − y) log(1 − σ(z))] without overflow: max(z, 0) − y z + log(1 + e^−|z|). */
export function logLossOfLogit(z: number, label: number): number {
  return Math.max(z, 0) - label * z + Math.log1p(Math.exp(-Math.abs(z)));
}
