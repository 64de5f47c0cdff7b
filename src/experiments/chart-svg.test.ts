import assert from 'node:assert/strict';
import { test } from 'node:test';
import { intervalChartSvg, lineChartSvg, niceScale, type ChartOptions } from './chart-svg.js';

test('trade-off chart: a line per curve, merged labels for equal points, escaped text', () => {
  const options: ChartOptions = {
    title: 'α trade-off <LPIPS>',
    xLabel: 'accuracy',
    yLabel: 'personalization',
    series: [
      {
        name: 'pmg',
        color: '#000',
        line: true,
        points: [
          { x: 0.5, y: 0.7, label: 'α=0.5' },
          { x: 0.5, y: 0.7, label: 'α=0.67' },
          { x: 0.6, y: 0.8, label: 'α=0.8' },
        ],
      },
      { name: 'target-only', color: '#f00', line: false, points: [{ x: 0.55, y: 0.65 }] },
    ],
  };
  const svg = lineChartSvg(options);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal((svg.match(/<polyline/g) ?? []).length, 1);
  assert.ok(svg.includes('>α=0.5, α=0.67<'));
  assert.ok(svg.includes('α trade-off &lt;LPIPS&gt;'));
  assert.equal(svg, lineChartSvg(structuredClone(options)), 'deterministic');
});

test('nice axis scale covers the values with round ticks', () => {
  const s = niceScale([0.7634, 0.7717]);
  assert.ok(s.min <= 0.7634 && s.max >= 0.7717);
  assert.equal(s.step, 0.002);
  assert.deepEqual(niceScale([3, 3]).ticks.length > 1, true);
});

test('interval chart: a dot and a bar per value, a dashed zero line, escaped labels, deterministic', () => {
  const options = {
    title: 'Δ <vs> none',
    xLabel: 'model − none',
    series: [
      { name: 'ΔAUC', color: '#111' },
      { name: 'ΔGAUC', color: '#222' },
    ],
    rows: [
      {
        label: 'pmg',
        values: [
          { value: 0.01, low: 0.002, high: 0.02 },
          { value: 0.005, low: -0.001, high: 0.01 },
        ],
      },
      { label: 'random & co', values: [{ value: -0.003, low: -0.01, high: 0.004 }, null] },
    ],
  };
  const svg = intervalChartSvg(options);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal((svg.match(/<circle /g) ?? []).length, 3 + 2, 'three values and two legend dots');
  assert.equal((svg.match(/stroke-dasharray/g) ?? []).length, 1);
  assert.ok(svg.includes('>random &amp; co<') && svg.includes('Δ &lt;vs&gt; none'));
  assert.equal(svg, intervalChartSvg(structuredClone(options)));
  // Ticks from −0.3 in steps of 0.1 (summed in floating point, 0 comes out as −2.8e-17) read 0.00, never −0.00.
  const wide = intervalChartSvg({ ...options, rows: [{ label: 'x', values: [{ value: 0.1, low: -0.2137, high: 0.28 }, null] }] });
  assert.ok(!wide.includes('>-0.00<') && wide.includes('>0.00<'), wide);
});
