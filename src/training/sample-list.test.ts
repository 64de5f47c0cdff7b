import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lazySampleList, preparedList } from './sample-list.js';
import type { PreparedSample } from './sample-gradients.js';

const sample = (id: string): PreparedSample => ({
  id,
  targetStates: { data: new Float32Array(1), dims: [1, 1] },
  posterior: { mean: new Float32Array(4), dims: [4, 1, 1] },
});

test('a lazy list prepares a sample on first use and keeps at most `capacity`, dropping the least recently used', async () => {
  const made: string[] = [];
  const list = lazySampleList(['a', 'b', 'c'], async (id) => (made.push(id), sample(id)), 2);
  assert.equal(list.length, 3);
  assert.deepEqual(made, [], 'nothing prepared before a step asks');
  assert.equal((await list.get(0)).id, 'a');
  assert.equal((await list.get(1)).id, 'b');
  assert.equal((await list.get(0)).id, 'a');
  assert.deepEqual(made, ['a', 'b'], 'a kept sample is not prepared again');
  await list.get(2); // drops b, the least recently used
  await list.get(0);
  assert.deepEqual(made, ['a', 'b', 'c']);
  await list.get(1);
  assert.deepEqual(made, ['a', 'b', 'c', 'b']);
  assert.equal(list.prepared, 4);
});

test('a failed preparation is not kept: the next read tries again', async () => {
  let calls = 0;
  const list = lazySampleList(
    ['x'],
    async (id) => {
      calls++;
      if (calls === 1) throw new Error('unreadable image');
      return sample(id);
    },
    4,
  );
  await assert.rejects(list.get(0), /unreadable image/);
  assert.equal((await list.get(0)).id, 'x');
  await assert.rejects(preparedList([sample('y')]).get(3), RangeError);
});
