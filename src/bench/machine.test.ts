import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatMachine, machineInfo } from './machine.js';
import { median } from './median.js';

test('machine: one line for every bench, from the running machine', () => {
  const line = formatMachine({ cpu: 'Test CPU', cores: 2, memoryGiB: 7.84, platform: 'linux', arch: 'x64', node: 'v20.0.0' });
  assert.equal(line, 'Test CPU, 2 cores, 7.8 GiB, linux x64, node v20.0.0');
  const here = machineInfo();
  assert.ok(here.cores >= 1 && here.memoryGiB > 0);
  assert.equal(here.node, process.version);
  assert.match(formatMachine(here), /\d+ cores, \d+\.\d GiB, \w+ \w+, node v\d+/);
});

test('median: middle value, or the mean of the middle two', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});
