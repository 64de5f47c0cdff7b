import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelRegistry } from './model-registry.js';

class Fake {
  closed = 0;
  constructor(readonly name: string) {}
  async close(): Promise<void> {
    this.closed += 1;
  }
}

test('concurrent acquires of one key share one load', async () => {
  const registry = new ModelRegistry<Fake>();
  let loads = 0;
  const load = async (): Promise<Fake> => {
    loads += 1;
    await new Promise((r) => setTimeout(r, 10));
    return new Fake('a');
  };
  const [a, b, c] = await Promise.all([registry.acquire('a', load), registry.acquire('a', load), registry.acquire('a', load)]);
  assert.equal(loads, 1);
  assert.equal(registry.loads('a'), 1);
  assert.equal(a.value, b.value);
  assert.equal(b.value, c.value);
  assert.deepEqual(registry.snapshot(), [{ key: 'a', users: 3, loaded: true }]);
  a.release();
  a.release(); // twice counts once
  assert.deepEqual(registry.snapshot(), [{ key: 'a', users: 2, loaded: true }]);
  b.release();
  c.release();
  assert.deepEqual(registry.snapshot(), [{ key: 'a', users: 0, loaded: true }]);
  assert.equal(a.value.closed, 0, 'one idle entry is kept');
});

test('eviction closes exactly the least recently used idle entry', async () => {
  const registry = new ModelRegistry<Fake>({ maxIdle: 1 });
  const a = await registry.acquire('a', async () => new Fake('a'));
  const b = await registry.acquire('b', async () => new Fake('b'));
  const c = await registry.acquire('c', async () => new Fake('c'));
  b.release(); // idle: b
  a.release(); // idle: b (older), a → b closes
  assert.equal(b.value.closed, 1);
  assert.equal(a.value.closed, 0);
  assert.equal(c.value.closed, 0, 'an entry in use is never closed');
  assert.deepEqual(
    registry.snapshot().map((e) => e.key),
    ['a', 'c'],
  );
  // b again: loads anew
  const b2 = await registry.acquire('b', async () => new Fake('b2'));
  assert.equal(b2.value.name, 'b2');
  assert.equal(registry.loads('b'), 2);
  c.release();
  b2.release(); // idle a, c, b2 → a and c close (oldest first), b2 stays
  assert.equal(a.value.closed, 1);
  assert.equal(c.value.closed, 1);
  assert.equal(b2.value.closed, 0);
});

test('a failed load is not cached: the next acquire loads again', async () => {
  const registry = new ModelRegistry<Fake>();
  await assert.rejects(
    registry.acquire('x', async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.deepEqual(registry.snapshot(), []);
  const x = await registry.acquire('x', async () => new Fake('x'));
  assert.equal(x.value.name, 'x');
  assert.equal(registry.loads('x'), 2);
});

test('closeAll closes entries after release and refuses new acquires', async () => {
  const registry = new ModelRegistry<Fake>({ maxIdle: 4 });
  const a = await registry.acquire('a', async () => new Fake('a'));
  const b = await registry.acquire('b', async () => new Fake('b'));
  a.release();
  await registry.closeAll();
  assert.equal(a.value.closed, 1);
  assert.equal(b.value.closed, 1, 'closed even while in use: the owner is shutting down');
  b.release();
  assert.equal(b.value.closed, 1, 'release after close does not close twice');
  await assert.rejects(
    registry.acquire('c', async () => new Fake('c')),
    /closed/,
  );
});
