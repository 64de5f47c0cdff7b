import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import table from './reference/t-quantiles.json' with { type: 'json' };
import { relativeChange, summarize, tQuantile975 } from './stats.js';

describe('eval statistics', () => {
  it('t quantiles equal scipy (table) and the expansion above df 100', () => {
    assert.ok(Math.abs(tQuantile975(1) - 12.706204736) < 1e-6);
    assert.ok(Math.abs(tQuantile975(3) - 3.182446305) < 1e-6);
    for (const [df, value] of Object.entries(table.check)) assert.ok(Math.abs(tQuantile975(Number(df)) - value) < 1e-6, `df ${df}`);
    assert.ok(Number.isNaN(tQuantile975(0)));
  });

  it('mean and 95% CI half-width (sample sd, t with n-1 df)', () => {
    const s = summarize([1, 2, 3, 4]);
    assert.equal(s.mean, 2.5);
    assert.ok(Math.abs(s.sd - 1.2909944487) < 1e-9);
    // scipy: t.ppf(0.975, 3) * std([1,2,3,4], ddof=1) / 2
    assert.ok(Math.abs(s.ci95 - 2.0542602567605206) < 1e-9);
    assert.ok(Number.isNaN(summarize([5]).ci95));
    assert.equal(summarize([5, NaN]).n, 1);
  });

  it('relative change in percent against |base|', () => {
    assert.ok(Math.abs(relativeChange(0.92, 1) + 8) < 1e-9);
    assert.ok(Math.abs(relativeChange(-1.1, -1) + 10) < 1e-9);
    assert.ok(Math.abs(relativeChange(0.55, 0.5) - 10) < 1e-9);
    assert.ok(Number.isNaN(relativeChange(1, 0)));
  });
});
