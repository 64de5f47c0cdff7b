/**
 * Progress reporting for long work (downloads, denoising steps, eval runs).
 * On a TTY it draws one bar line that is rewritten in place; otherwise it prints plain lines,
 * at most one per `plainIntervalMs` and always the last one, so logs stay short.
 */
export interface ProgressSink {
  /** Begin a task; `total` in `unit`s (bytes are shown as MB). */
  start(label: string, total: number, unit?: 'bytes' | 'steps' | 'items'): ProgressTask;
}

export interface ProgressTask {
  update(done: number): void;
  finish(message?: string): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Force bar (true) or plain-line (false) output; default: bar when the stream is a TTY. */
  bar?: boolean;
  plainIntervalMs?: number;
}

export const silentProgress: ProgressSink = {
  start: () => ({ update: () => undefined, finish: () => undefined }),
};

export function createProgress(options: ProgressOptions = {}): ProgressSink {
  const stream = options.stream ?? process.stderr;
  const bar = options.bar ?? Boolean(stream.isTTY);
  const interval = options.plainIntervalMs ?? 2000;
  return {
    start(label, total, unit = 'items') {
      const started = Date.now();
      let lastPrint = 0;
      let lastDone = 0;
      const render = (done: number): { fraction: number; text: string } => {
        const fraction = total > 0 ? Math.min(1, done / total) : 0;
        const elapsed = (Date.now() - started) / 1000;
        const rate = elapsed > 0 ? done / elapsed : 0;
        const eta = rate > 0 && total > done ? (total - done) / rate : 0;
        const amount = unit === 'bytes' ? `${formatBytes(done)}/${formatBytes(total)}` : `${done}/${total} ${unit}`;
        const speed = unit === 'bytes' ? `${formatBytes(rate)}/s` : `${rate.toFixed(1)} ${unit}/s`;
        return { fraction, text: `${amount} ${speed} eta ${formatSeconds(eta)}` };
      };
      return {
        update(done) {
          lastDone = done;
          const now = Date.now();
          const { fraction, text } = render(done);
          if (bar) {
            if (now - lastPrint < 100 && done < total) return;
            lastPrint = now;
            const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - label.length - 50));
            const filled = Math.round(fraction * width);
            stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${text}\x1b[K`);
          } else if (now - lastPrint >= interval || (done >= total && total > 0 && lastPrint !== -1)) {
            lastPrint = done >= total ? -1 : now;
            stream.write(`${label}: ${(fraction * 100).toFixed(0)}% ${text}\n`);
          }
        },
        finish(message) {
          const seconds = ((Date.now() - started) / 1000).toFixed(1);
          const tail = message ?? (unit === 'bytes' ? `${formatBytes(lastDone)} in ${seconds}s` : `done in ${seconds}s`);
          stream.write(bar ? `\r${label}: ${tail}\x1b[K\n` : `${label}: ${tail}\n`);
        },
      };
    },
  };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let index = 0;
  while (value >= 1024 && index < units.length - 1) {
    value /= 1024;
    index++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[index]}`;
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '0s';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
}
