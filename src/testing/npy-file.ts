/** Write a float32 .npy file (format 1.0, '<f4', C order) the way np.save lays it out, for CLI tests of --latents. */
import { writeFileSync } from 'node:fs';

export function writeNpyFloat32(path: string, data: Float32Array, shape: readonly number[], descr = '<f4'): void {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
  const padded = dict + ' '.repeat(63 - ((10 + dict.length) % 64)) + '\n';
  const header = Buffer.alloc(10);
  header.write('\u0093NUMPY', 0, 'latin1');
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(padded.length, 8);
  const body = Buffer.alloc(data.length * 4);
  data.forEach((v, i) => body.writeFloatLE(v, i * 4));
  writeFileSync(path, Buffer.concat([header, Buffer.from(padded, 'latin1'), body]));
}
