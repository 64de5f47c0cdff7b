/**
 * Training a factorization machine: Adagrad (Duchi et al. 2011; per-parameter step lr / √(Σ g²)) on the train rows in
 * a fresh seeded shuffle each epoch, L2 on the parameters a row touches, and early stopping on the validation log loss:
 * training stops after `patience` epochs without a new best, and the best epoch's parameters are returned. Without
 * validation rows every epoch runs and the last one is kept.
 *
 * Deterministic for a seed: the initial factors come from SeededRandom(seed), the shuffles from a second generator.
 */
import { performance } from 'node:perf_hooks';
import { SeededRandom } from '../core/random.js';
import { PmgError } from '../errors/pmg-error.js';
import { FactorizationMachine, logLossOfLogit, rowGradientScratch, sigmoid, type RowGradient } from './factorization-machine.js';
import type { SparseDesign } from './feature-encoding.js';

export interface FmTrainingOptions {
  factors: number;
  /** Most epochs to run. */
  epochs: number;
  /** Epochs without a better validation loss before stopping. */
  patience: number;
  learningRate: number;
  l2: number;
  seed: number;
  /** Standard deviation of the initial factors. Default 0.01. */
  initStd?: number;
}

export interface FmEpoch {
  epoch: number;
  /** Mean log loss of the train rows during the epoch (each row's loss just before its update). */
  trainLoss: number;
  /** Mean log loss of the validation rows after the epoch; null without validation rows. */
  valLoss: number | null;
  /** Wall time of the epoch (training pass and validation loss) in milliseconds. */
  ms: number;
}

export interface FmTrainingResult {
  model: FactorizationMachine;
  epochs: FmEpoch[];
  /** 1-based epoch whose parameters `model` holds. */
  bestEpoch: number;
}

const ADAGRAD_EPSILON = 1e-8;

/** Train on design rows `train` (labels 0/1 by design row), early-stopping on design rows `val`. */
export async function trainFactorizationMachine(
  design: SparseDesign,
  labels: Uint8Array,
  train: Int32Array,
  val: Int32Array,
  options: FmTrainingOptions,
  onEpoch?: (epoch: FmEpoch) => void,
): Promise<FmTrainingResult> {
  checkOptions(options);
  if (train.length === 0) throw new PmgError('invalid-argument', 'the recommender has no train rows; choose more users or a smaller test/val fraction');
  const { factors, learningRate: lr, l2 } = options;
  // Factors are drawn column by column, so the columns every feature set shares (users, items, genres come first) start
  // equal in every set; the shuffles come from a second stream, so every set sees the rows in the same order.
  const model = FactorizationMachine.initialised(design.columns, factors, new SeededRandom(options.seed), options.initStd ?? 0.01);
  const random = new SeededRandom(shuffleSeed(options.seed));
  const best = model.clone();
  let bestLoss = Infinity;
  let bestEpoch = 0;
  const state: AdagradState = {
    G0: new Float64Array(1),
    Gw: new Float64Array(design.columns),
    Gv: new Float64Array(design.columns * factors),
    gradient: rowGradientScratch(design, factors),
  };
  const order = Int32Array.from(train);
  const epochs: FmEpoch[] = [];

  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const started = performance.now();
    random.shuffle(order);
    const trainLoss = adagradEpoch(model, design, labels, order, lr, l2, state);
    const valLoss = val.length ? meanLoss(model, design, labels, val) : null;
    const record: FmEpoch = { epoch, trainLoss, valLoss, ms: performance.now() - started };
    epochs.push(record);
    onEpoch?.(record);
    if (!Number.isFinite(record.trainLoss))
      throw new PmgError('invalid-argument', `the recommender diverged in epoch ${epoch} (train loss ${record.trainLoss}); lower the learning rate (${lr})`);
    const score = valLoss ?? -epoch; // without validation rows the latest epoch is the best
    if (score < bestLoss) {
      bestLoss = score;
      bestEpoch = epoch;
      best.copyFrom(model);
    } else if (epoch - bestEpoch >= options.patience) {
      break;
    }
    // Let other work (progress output, an abort) run between epochs.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { model: best, epochs, bestEpoch };
}

export interface AdagradState {
  G0: Float64Array;
  Gw: Float64Array;
  Gv: Float64Array;
  gradient: RowGradient;
}

/**
 * One pass over `order` with an Adagrad step per row; returns the mean loss of the rows before their steps. (A plain
 * function, not part of the async loop: number locals of an async function live on the heap and made this 2× slower.)
 */
function adagradEpoch(
  model: FactorizationMachine,
  design: SparseDesign,
  labels: Uint8Array,
  order: Int32Array,
  lr: number,
  l2: number,
  state: AdagradState,
): number {
  let loss = 0;
  for (let j = 0; j < order.length; j++) loss += adagradStep(model, design, order[j]!, labels[order[j]!]!, lr, l2, state);
  return loss / order.length;
}

/**
 * One Adagrad step on design row r; returns the row's loss before the step. The gradient is FactorizationMachine's
 * rowGradient written inline (one pass instead of two over the row's factors; rowGradient stays the tested statement
 * of it, and fm-training.test.ts checks that a step equals the update built from it).
 */
export function adagradStep(model: FactorizationMachine, design: SparseDesign, r: number, label: number, lr: number, l2: number, state: AdagradState): number {
  const { G0, Gw, Gv, gradient } = state;
  const { offsets, indices, values } = design;
  const factors = model.factors;
  const w = model.w;
  const v = model.v;
  const sums = gradient.sums;
  const z = model.logit(design, r, sums);
  const g = sigmoid(z) - label;
  G0[0]! += g * g;
  model.w0 -= (lr * g) / (Math.sqrt(G0[0]!) + ADAGRAD_EPSILON);
  const end = offsets[r + 1]!;
  for (let k = offsets[r]!; k < end; k++) {
    const i = indices[k]!;
    const x = values[k]!;
    const gw = g * x + l2 * w[i]!;
    Gw[i]! += gw * gw;
    w[i]! -= (lr * gw) / (Math.sqrt(Gw[i]!) + ADAGRAD_EPSILON);
    const base = i * factors;
    const gx = g * x;
    for (let f = 0; f < factors; f++) {
      const vf = v[base + f]!;
      const gv = gx * (sums[f]! - vf * x) + l2 * vf;
      const G = Gv[base + f]! + gv * gv;
      Gv[base + f] = G;
      v[base + f] = vf - (lr * gv) / (Math.sqrt(G) + ADAGRAD_EPSILON);
    }
  }
  return logLossOfLogit(z, label);
}

function meanLoss(model: FactorizationMachine, design: SparseDesign, labels: Uint8Array, rows: Int32Array): number {
  const sums = new Float64Array(model.factors);
  let sum = 0;
  for (let j = 0; j < rows.length; j++) sum += logLossOfLogit(model.logit(design, rows[j]!, sums), labels[rows[j]!]!);
  return sum / rows.length;
}

/** The seed of the shuffle stream: far from the small seeds people pick, so it does not repeat another run's init. */
export function shuffleSeed(seed: number): number {
  return (seed + 0x9e3779b9) % Number.MAX_SAFE_INTEGER;
}

function checkOptions(options: FmTrainingOptions): void {
  const positiveInteger: Array<[string, number]> = [
    ['factors', options.factors],
    ['epochs', options.epochs],
    ['patience', options.patience],
  ];
  for (const [name, value] of positiveInteger)
    if (!Number.isInteger(value) || value < 1) throw new PmgError('invalid-argument', `${name} must be a positive integer, got ${value}`);
  if (!(options.learningRate > 0) || !Number.isFinite(options.learningRate))
    throw new PmgError('invalid-argument', `learningRate must be a positive number, got ${options.learningRate}`);
  if (!(options.l2 >= 0) || !Number.isFinite(options.l2)) throw new PmgError('invalid-argument', `l2 must be a number ≥ 0, got ${options.l2}`);
  if (!Number.isSafeInteger(options.seed) || options.seed < 0)
    throw new PmgError('invalid-argument', `seed must be a non-negative integer, got ${options.seed}`);
}
