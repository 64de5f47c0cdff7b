/**
 * The samples a training run reads. A dataset may hold thousands of samples (ml-latest-small's window protocol gives
 * tens of thousands), each with a VAE encoding of its target image, the text encoder's states and the LLM's rows:
 * preparing them all before the first step would take long and hold gigabytes. So a run prepares a sample when a step
 * first asks for it and keeps the most recently used ones, up to `capacity`; preparing is deterministic, so a sample
 * prepared again is the same and a run's losses do not depend on the capacity.
 */
import type { PreparedSample } from './sample-gradients.js';

export interface SampleList {
  readonly length: number;
  get(index: number): Promise<PreparedSample>;
}

/** Samples already prepared. */
export function preparedList(samples: readonly PreparedSample[]): SampleList {
  return { length: samples.length, get: async (index) => at(samples, index) };
}

/** Samples prepared on first use; at most `capacity` are kept (least recently used ones are dropped). */
export function lazySampleList<T>(items: readonly T[], prepare: (item: T) => Promise<PreparedSample>, capacity: number): SampleList & { prepared: number } {
  const kept = new Map<number, Promise<PreparedSample>>();
  const list = {
    length: items.length,
    prepared: 0,
    get(index: number): Promise<PreparedSample> {
      const hit = kept.get(index);
      if (hit) {
        kept.delete(index);
        kept.set(index, hit);
        return hit;
      }
      list.prepared++;
      const made = prepare(at(items, index));
      made.catch(() => kept.delete(index));
      kept.set(index, made);
      while (kept.size > Math.max(1, capacity)) kept.delete(kept.keys().next().value!);
      return made;
    },
  };
  return list;
}

function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new RangeError(`sample ${index} of ${items.length}`);
  return item;
}
