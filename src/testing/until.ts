/** Waits for a condition in a test: polled every 25 ms for up to 60 s (a loaded 2-core machine starts processes slowly), then asserted. */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

export async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 2400 && !(await condition()); i++) await sleep(25);
  assert.ok(await condition(), what);
}
