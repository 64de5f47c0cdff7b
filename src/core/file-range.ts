/** Positioned reads that fill the whole buffer (readSync may return fewer bytes than asked). */
import { readSync } from 'node:fs';

/** Fill `into` from `fd` at `position`; false when the file ends first. */
export function readFullyAt(fd: number, into: Uint8Array, position: number): boolean {
  for (let done = 0; done < into.length;) {
    const read = readSync(fd, into, done, into.length - done, position + done);
    if (read === 0) return false;
    done += read;
  }
  return true;
}
