import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatMetricsBench, timeFid2048, type MetricsBenchResult } from './metrics.js';
import { machineInfo } from './machine.js';

test('the FID timing runs the Fréchet distance on dense seeded statistics and is printed with the table', () => {
  const fid2048 = timeFid2048(96);
  assert.equal(fid2048.dim, 96);
  assert.equal(fid2048.route, 'cholesky-1');
  assert.ok(fid2048.value > 0 && fid2048.seconds >= 0);
  const result: MetricsBenchResult = {
    machine: machineInfo(),
    imageSize: 64,
    repeats: 1,
    rows: [{ metric: 'fid', batch: 16, imagesPerSecond: 100, medianMs: 160 }],
    fid2048: { ...fid2048, seconds: 8.25 },
  };
  const text = formatMetricsBench(result, 'pmg bench metrics --metrics fid');
  assert.match(text, /\nfid {10}16 {7}100\.0 {6}160\.00\n/);
  assert.match(text, /fid 96-d Fréchet distance \(two dense 96x96 covariances, eigenvalues only, one run\): 8\.25 s\n$/);
});
