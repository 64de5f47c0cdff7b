/**
 * Reproducible Gaussian statistics for the FID reference test and `pmg bench metrics`, drawn from pmg's
 * seeded generator in the order scripts/reference/fid.py draws them (its Python copy of the generator):
 * mean (dim values, times meanScale), B (dim x rank, row-major), g (dim values);
 * cov = B Bᵀ / rank + diag(0.2 + 0.8 |g|), dense and positive definite.
 */
import { addProductTransposed, block } from '../core/matrix-product.js';
import { SeededRandom } from '../core/random.js';
import type { GaussianStats } from './frechet-distance.js';

export function seededGaussianStats(seed: number, dim: number, rank: number, meanScale = 1): GaussianStats {
  const rng = new SeededRandom(seed);
  const mean = Float64Array.from({ length: dim }, () => meanScale * rng.nextGaussian());
  const b = Float64Array.from({ length: dim * rank }, () => rng.nextGaussian());
  const cov = new Float64Array(dim * dim);
  addProductTransposed(dim, dim, rank, block(b, rank), block(b, rank), block(cov, dim), 1 / rank, true);
  for (let i = 0; i < dim; i++) {
    cov[i * dim + i]! += 0.2 + 0.8 * Math.abs(rng.nextGaussian());
    for (let j = i + 1; j < dim; j++) cov[j * dim + i] = cov[i * dim + j]!;
  }
  return { dim, mean, cov };
}
