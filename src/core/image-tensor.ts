/**
 * Float image tensors (as a VAE decoder returns them: [b, 3, h, w], values in [-1, 1]) to 8-bit RGB
 * images and PNG bytes. Mapping as in diffusers: x/2 + 0.5, clamped to [0, 1], times 255, rounded.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { FloatTensor } from '../spec/tensor.js';
import { encodePng, type RgbImage } from './image-io.js';
import type { PngText } from './png-text.js';

export function tensorToRgbImages(tensor: FloatTensor): RgbImage[] {
  const [batch, channels, height, width] = tensor.dims;
  if (tensor.dims.length !== 4 || channels !== 3 || !batch || !height || !width) {
    throw new PmgError('invalid-argument', `an image tensor must be [batch, 3, height, width], got [${tensor.dims.join(', ')}]`);
  }
  const plane = height * width;
  const images: RgbImage[] = [];
  for (let b = 0; b < batch; b++) {
    const base = b * 3 * plane;
    const data = new Uint8Array(plane * 3);
    for (let c = 0; c < 3; c++) {
      const offset = base + c * plane;
      for (let p = 0; p < plane; p++) {
        const v = tensor.data[offset + p]! * 0.5 + 0.5;
        data[p * 3 + c] = Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * 255);
      }
    }
    images.push({ width, height, data });
  }
  return images;
}

/** One PNG per image of the batch; `texts(i)` gives image i's PNG text chunks. */
export async function tensorToPngs(tensor: FloatTensor, texts?: (index: number) => readonly PngText[]): Promise<Buffer[]> {
  return Promise.all(tensorToRgbImages(tensor).map((image, i) => encodePng(image, texts?.(i))));
}
