import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createProgress, formatBytes } from './progress.js';

class Capture extends Writable {
  text = '';
  constructor(readonly isTTY: boolean) {
    super();
  }
  columns = 100;
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

test('on a TTY: one bar line rewritten in place, then a final line', () => {
  const stream = new Capture(true);
  const task = createProgress({ stream }).start('model.onnx', 4 * 1024 * 1024, 'bytes');
  task.update(1024 * 1024);
  task.update(4 * 1024 * 1024);
  task.finish();
  assert.match(stream.text, /^\rmodel\.onnx \[#*-*\]\s+25% 1\.0 MB\/4\.0 MB/);
  assert.match(stream.text, /\rmodel\.onnx \[#+\] 100% 4\.0 MB\/4\.0 MB/);
  assert.ok(stream.text.endsWith('\n'));
  assert.equal(stream.text.split('\n').length, 2, 'one line in the end');
});

test('not a TTY: plain lines, at most one per interval plus the last', () => {
  const stream = new Capture(false);
  const task = createProgress({ stream, plainIntervalMs: 60_000 }).start('denoising', 30, 'steps');
  for (let step = 1; step <= 30; step++) task.update(step);
  task.finish();
  const lines = stream.text.trimEnd().split('\n');
  assert.equal(lines[0], 'denoising: 3% 1/30 steps ' + lines[0]!.split(' steps ')[1]);
  assert.match(lines[1]!, /^denoising: 100% 30\/30 steps/);
  assert.match(lines[2]!, /^denoising: done in \d+\.\ds$/);
  assert.equal(lines.length, 3);
  assert.doesNotMatch(stream.text, /\r/);
});

test('byte sizes read as people write them', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(3.8 * 1024 ** 3), '3.8 GB');
});
