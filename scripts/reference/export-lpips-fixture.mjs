// Exports the tiny LPIPS fixture's weights (from a build of src/fixtures/tiny-lpips.ts) for the
// independent numpy check in scripts/reference/metrics.py:
//   npx tsc -p . --outDir .build/ref && node scripts/reference/export-lpips-fixture.mjs .build/ref
//   /usr/bin/python3 scripts/reference/metrics.py lpips
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const build = resolve(process.argv[2] ?? 'dist');
const { tinyLpipsWeights } = await import(`${build}/fixtures/tiny-lpips.js`);
const { LPIPS_SHIFT, LPIPS_SCALE } = await import(`${build}/metrics/lpips.js`);
const w = tinyLpipsWeights();
const out = {
  seed: w.seed,
  shift: LPIPS_SHIFT,
  scale: LPIPS_SCALE,
  layers: w.layers.map((l) => ({ shape: l.shape, stride: l.stride, pad: l.pad, tap: l.tap, weight: Array.from(l.weight), bias: Array.from(l.bias) })),
  heads: w.heads.map((h) => Array.from(h)),
};
writeFileSync('src/metrics/reference/lpips-fixture.json', `${JSON.stringify(out)}\n`);
console.log('wrote src/metrics/reference/lpips-fixture.json');
