// Exports the weights of the tiny-autoencoder fixture (src/fixtures/tiny-taesd.ts, both widths) for the
// independent torch check in scripts/reference/taesd.py. The file is large (the real width is 1.2 M floats)
// and is not committed; only the check's inputs and outputs are (src/fixtures/reference/taesd.json):
//   npx tsc -p . --outDir .build/ref && node scripts/reference/export-taesd-fixture.mjs .build/ref
//   /usr/bin/python3 scripts/reference/taesd.py
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const build = resolve(process.argv[2] ?? 'dist');
const { tinyAutoencoderWeights, tinyAutoencoderConfig } = await import(`${build}/fixtures/tiny-taesd.js`);
const out = { cases: [] };
for (const width of ['tiny', 'real']) {
  const w = tinyAutoencoderWeights({ width });
  out.cases.push({
    width,
    seed: w.seed,
    config: tinyAutoencoderConfig(w.architecture),
    tensors: w.tensors.map((t) => ({
      name: t.name,
      dims: t.dims,
      float32_base64: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64'),
    })),
  });
}
mkdirSync('.build/ref', { recursive: true });
writeFileSync('.build/ref/taesd-weights.json', `${JSON.stringify(out)}\n`);
console.log('wrote .build/ref/taesd-weights.json');
