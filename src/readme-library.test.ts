/**
 * The README's library example, as a library user meets it: its TypeScript is compiled in a fresh consumer project
 * with `strict` and WITHOUT `skipLibCheck` (so every declaration file the package's types pull in is checked), then
 * run with node on the fixture models and the README's example files — and once more with a bad history file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { packageRoot } from './core/package-root.js';
import { writeFixtures } from './fixtures/write-fixtures.js';

const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8');
let root: string;

/** The fenced block of `language` right after `heading`. */
function blockAfter(heading: string, language: string): string {
  const start = readme.indexOf(heading);
  assert.ok(start >= 0, `README has '${heading}'`);
  const open = readme.indexOf('```' + language + '\n', start);
  const close = readme.indexOf('\n```', open + 4);
  return readme.slice(open + language.length + 4, close + 1);
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-readme-library-'));
  await writeFixtures(join(root, 'fx'), { only: ['llm', 'clip', 'sd'] });
  // h.json and t.json exactly as the README's shell example writes them.
  const shell = blockAfter('### Example: one user', 'sh');
  writeFileSync(join(root, 'h.json'), /<<'JSON'\n([\s\S]*?)\nJSON\n/.exec(shell)![1]!);
  writeFileSync(join(root, 't.json'), /echo '([^']*)' > t\.json/.exec(shell)![1]!);
  mkdirSync(join(root, 'node_modules'));
  symlinkSync(packageRoot(), join(root, 'node_modules', 'pmg'), 'dir');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(
    join(root, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        types: ['node'],
        typeRoots: [join(packageRoot(), 'node_modules', '@types')],
      },
      files: ['index.ts'],
    }),
  );
  writeFileSync(join(root, 'index.ts'), blockAfter('### Library', 'ts'));
});
after(() => rmSync(root, { recursive: true, force: true }));

const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: root, PMG_CACHE_DIR: join(root, 'cache'), PMG_OFFLINE: '1' });

test("the README's library example compiles in a strict consumer project without skipLibCheck", () => {
  const tsc = spawnSync(process.execPath, [join(packageRoot(), 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root], { cwd: root, encoding: 'utf8' });
  assert.equal(`${tsc.stdout}${tsc.stderr}`, '', 'no type errors, in pmg or in anything its types pull in');
  assert.equal(tsc.status, 0);
  assert.ok(existsSync(join(root, 'index.js')));
});

test('it runs on the fixture models and writes the result folder; a bad history is one PmgError line naming the field', () => {
  const run = spawnSync(process.execPath, ['index.js'], { cwd: root, env: env(), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^chosen: weight \d+, z=-?\d+\.\d{3}, d_t against "movie poster, Drive \(2011\), named 'Drive \(2011\)', /);
  const result = JSON.parse(readFileSync(join(root, 'drive-lib', 'result.json'), 'utf8')) as { scoring: { targetText: string } };
  assert.match(result.scoring.targetText, /^movie poster, Drive/);

  writeFileSync(join(root, 'h.json'), JSON.stringify([{ title: 'Heat' }, { title: 1995 }]));
  const bad = spawnSync(process.execPath, ['index.js'], { cwd: root, env: env(), encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, 'invalid-input: h.json: items[1].title must be a string\n');
});
