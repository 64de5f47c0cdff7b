import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { PmgError } from '../../errors/pmg-error.js';
import { runCli } from '../../testing/run-cli.js';
import { softModuleOption } from './serve.js';

test('pmg serve refuses a non-loopback host without PMG_API_KEY, in one line, before loading anything', async () => {
  for (const host of ['0.0.0.0', '::', '192.168.1.9']) {
    const run = await runCli(['serve', '--host', host, '--models', '/nonexistent'], { cwd: tmpdir() });
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(`^pmg: --host ${host.replace(/\./g, '\\.')} would expose the server beyond this machine without a key; set PMG_API_KEY`),
    );
    assert.equal(run.stderr.trim().split('\n').length, 1);
  }
});

test('pmg serve: bad numbers and soft modules are refused naming the flag', async () => {
  const port = await runCli(['serve', '--port', '70000'], { cwd: tmpdir() });
  assert.equal(port.code, 2);
  assert.match(port.stderr, /--port must be an integer from 0 to 65535, got '70000'/);
  const queue = await runCli(['serve', '--queue-size', '0'], { cwd: tmpdir() });
  assert.match(queue.stderr, /--queue-size must be a positive integer/);
  const soft = await runCli(['serve', '--soft', '/some/dir'], {
    cwd: tmpdir(),
  });
  assert.equal(soft.code, 2);
  assert.match(soft.stderr, /--soft must be NAME=DIR/);
});

test('--soft NAME=DIR values: names as the API lists them, folders resolved, no name twice', () => {
  assert.deepEqual(softModuleOption(['movie=soft/m', 'pog-2=/abs/p'], '/work'), { movie: '/work/soft/m', 'pog-2': '/abs/p' });
  assert.throws(() => softModuleOption(['Movie=x'], '/'), PmgError);
  assert.throws(() => softModuleOption(['a=x', 'a=y'], '/'), /twice/);
});

test('pmg serve on a port in use says so in one line before loading models or writing its data folder', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as AddressInfo).port;
  const root = mkdtempSync(join(tmpdir(), 'pmg-serve-port-'));
  try {
    const run = await runCli(['serve', '--port', String(port), '--models', '/nonexistent', '--data-dir', join(root, 'jobs')], { cwd: root });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stderr, `pmg: port ${port} on 127.0.0.1 is in use; pick another with --port\n`);
    assert.equal(existsSync(join(root, 'jobs')), false, 'nothing written');
  } finally {
    busy.close();
    rmSync(root, { recursive: true, force: true });
  }
});
