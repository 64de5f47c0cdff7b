#!/usr/bin/env node
// The `pmg` command: runs the compiled CLI from dist/ (built by `npm ci` through the `prepare` script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('pmg: dist/ is missing; run `npm ci` (or `npm run build`) in the pmg folder first\n');
  process.exit(70);
}
// A closed pipe (`pmg ... | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
