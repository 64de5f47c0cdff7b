import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeakMemory, readVmHwm } from './peak-memory.js';

test('a window sees the peak of a block allocated inside it; a new window starts at the current RSS', async () => {
  const peak = await PeakMemory.start(5);
  try {
    await peak.reset();
    const before = process.memoryUsage.rss();
    let block: Uint8Array | undefined = new Uint8Array(256 * 2 ** 20).fill(1); // touched, so resident
    assert.equal(block[block.length - 1], 1);
    block = undefined;
    const reading = await peak.read();
    assert.ok(reading.bytes >= before + 200 * 2 ** 20, `peak ${reading.bytes} after a 256 MiB block, RSS before ${before}`);
    if (process.platform === 'linux') {
      assert.ok(reading.hwmBytes !== undefined && reading.hwmBytes >= reading.sampledBytes - 2 ** 20, 'on Linux the kernel high-water mark is read');
      assert.ok((readVmHwm() ?? 0) > 0);
    }
    await peak.reset();
    const next = await peak.read();
    assert.ok(next.bytes >= process.memoryUsage.rss() * 0.9, 'a window is never below the memory in use');
  } finally {
    await peak.close();
  }
});
