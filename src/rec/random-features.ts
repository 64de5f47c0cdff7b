/**
 * The control feature set (issue 15): random Gaussian vectors of the same width as the generated features, one per
 * (user, item) row. Each row's vector is drawn from its own stream (SeededRandom seeded by a hash of the seed, user
 * and item), so a pair keeps its vector whatever other rows the dataset has. A model that gains as much from these
 * as from generated features has learned row identities, not what the images show.
 */
import { SeededRandom } from '../core/random.js';
import { seedFor } from '../data/protocol.js';
import type { DenseFeatures, RecDataset } from './rec-types.js';

export function randomFeatures(dataset: RecDataset, width: number, seed: number, name = 'random'): DenseFeatures {
  const values = new Float32Array(dataset.rows.length * width);
  dataset.rows.forEach((row, i) => {
    new SeededRandom(seedFor(seed, `random-features\u0000${row.user}\u0000${row.item}`)).fillGaussian(values.subarray(i * width, (i + 1) * width));
  });
  return { name, width, values };
}
