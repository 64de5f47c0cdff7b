/** The id of a process that has already exited (for tests of what a killed run leaves behind). */
import { spawnSync } from 'node:child_process';

export function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  if (child.pid === undefined) throw new Error('could not start a child process');
  return child.pid;
}
