/**
 * The trainer's (history → target image) pairs: the samples the dataset protocols build (experiments/eval-samples.ts,
 * their seeded 8:1:1 split), each with its target item's image from `--images` (named by item id, `<id>.png|jpg|...`;
 * stickers fall back to the sticker's own image). A sample without an image is skipped and counted
 * ('missing-target-image'), beside the protocol's own skipped counts. The target text is the item's own words
 * (eval-metrics.ts `targetText`): what the frozen text encoder turns into the target part of the conditioning.
 */
import { ImageFolder, type SampleSet } from '../data/protocol.js';
import { loadEvalSamples } from '../experiments/eval-samples.js';
import { targetText } from '../experiments/eval-metrics.js';
import type { DataSplit, Sample } from '../spec/behaviour.js';

export interface TrainSample {
  sample: Sample;
  image: string;
  targetText: string;
}

export interface TrainSamples {
  train: TrainSample[];
  val: TrainSample[];
  /** reason → count, the protocol's and the missing images. */
  skipped: Record<string, number>;
}

export interface TrainSampleQuery {
  dataset: string;
  data: string;
  images: string;
  protocol?: string;
  seed: number;
  /** At most this many training / validation samples. */
  limit?: number;
  valLimit?: number;
}

export async function loadTrainSamples(query: TrainSampleQuery): Promise<TrainSamples> {
  const folder = new ImageFolder(query.images, 'images');
  const skipped: Record<string, number> = {};
  const pick = async (split: DataSplit, limit: number | undefined): Promise<TrainSample[]> => {
    const set: SampleSet = await loadEvalSamples({
      dataset: query.dataset,
      data: query.data,
      seed: query.seed,
      split,
      ...(query.protocol ? { protocol: query.protocol } : {}),
    });
    for (const [reason, count] of Object.entries(set.skipped)) skipped[reason] = (skipped[reason] ?? 0) + count;
    const out: TrainSample[] = [];
    for (const sample of set.samples) {
      if (limit !== undefined && out.length >= limit) break;
      const id = sample.target.item?.id;
      const image = (id !== undefined ? folder.find(id) : undefined) ?? sample.targetImage;
      if (!image) {
        skipped['missing-target-image'] = (skipped['missing-target-image'] ?? 0) + 1;
        continue;
      }
      out.push({ sample, image, targetText: targetText(sample) });
    }
    return out;
  };
  return { train: await pick('train', query.limit), val: await pick('val', query.valLimit), skipped };
}
