import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPmgError } from '../errors/pmg-error.js';
import { GB, autoBudgetMargin, describeBudget, memorySnapshot, parseMemInfo, parseMemoryBudget, resolveMemoryBudget } from './memory-budget.js';

test('--memory-budget reads GB (binary), MB and auto', () => {
  assert.equal(parseMemoryBudget('auto'), 'auto');
  assert.equal(parseMemoryBudget(' AUTO '), 'auto');
  assert.equal(parseMemoryBudget('8'), 8 * GB);
  assert.equal(parseMemoryBudget('7.5GB'), 7.5 * GB);
  assert.equal(parseMemoryBudget('7.5 g'), 7.5 * GB);
  assert.equal(parseMemoryBudget('6000MB'), 6000 * 2 ** 20);
});

test('a budget that is not an amount, or too small, is one line naming the flag', () => {
  for (const bad of ['', 'lots', '-4', '8TB', '0.1', '1e3', 'NaN']) {
    assert.throws(
      () => parseMemoryBudget(bad),
      (error: unknown) =>
        isPmgError(error) &&
        error.code === 'invalid-argument' &&
        error.message.startsWith('memoryBudget must be') &&
        error.details.field === 'memoryBudget' &&
        error.message.includes(`'${bad}'`) &&
        !error.message.includes('\n'),
      bad,
    );
  }
  assert.throws(() => parseMemoryBudget('x', 'memoryBudget'), /^PmgError: memoryBudget must be/);
});

test('/proc/meminfo: MemAvailable and MemTotal in bytes; missing lines are left out', () => {
  const text = 'MemTotal:       24684132 kB\nMemFree:        21000000 kB\nMemAvailable:   23000000 kB\n';
  assert.deepEqual(parseMemInfo(text), { availableBytes: 23000000 * 1024, totalBytes: 24684132 * 1024 });
  assert.deepEqual(parseMemInfo('MemTotal: 1000 kB\n'), { totalBytes: 1024000 });
});

test('auto = what the process holds + what is available - 10% of the machine (at least 512 MB)', () => {
  const snapshot = { residentBytes: 4 * GB, availableBytes: 16 * GB, totalBytes: 24 * GB };
  assert.deepEqual(resolveMemoryBudget('auto', snapshot), { bytes: Math.round(4 * GB + 16 * GB - 2.4 * GB), auto: true, residentBytes: 4 * GB });
  assert.equal(autoBudgetMargin(2 * GB), 512 * 2 ** 20);
  assert.deepEqual(resolveMemoryBudget(8 * GB, snapshot), { bytes: 8 * GB, auto: false, residentBytes: 4 * GB });
  // Less available than the margin: the budget is what the process already holds.
  assert.equal(resolveMemoryBudget('auto', { ...snapshot, availableBytes: GB }).bytes, 4 * GB);
  assert.equal(describeBudget(resolveMemoryBudget(7.5 * GB, snapshot)), '7.5 GB');
  assert.equal(describeBudget(resolveMemoryBudget('auto', snapshot)), '18 GB (auto)');
});

test('a snapshot of this process and machine has plausible numbers', () => {
  const s = memorySnapshot();
  assert.ok(s.residentBytes > 10 * 2 ** 20 && s.residentBytes < s.totalBytes);
  assert.ok(s.availableBytes > 0 && s.availableBytes <= s.totalBytes);
});
