/**
 * Peak resident memory over a window of a benchmark. onnxruntime-node's `run` blocks the JavaScript
 * thread, so a timer on that thread never fires during a call; two sources are used instead:
 * - Linux keeps the peak itself (VmHWM in /proc/self/status); writing 5 to /proc/self/clear_refs resets it
 *   to the current RSS, which starts a window exactly;
 * - a worker thread samples the process's RSS every few milliseconds (works everywhere, can miss a spike
 *   shorter than its interval).
 * A window's peak is the larger of the two.
 */
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const SAMPLER = `
const { parentPort, workerData } = require('node:worker_threads');
let max = process.memoryUsage.rss();
const timer = setInterval(() => { const rss = process.memoryUsage.rss(); if (rss > max) max = rss; }, workerData.intervalMs);
parentPort.on('message', (message) => {
  const rss = process.memoryUsage.rss();
  if (rss > max) max = rss;
  parentPort.postMessage(max);
  if (message === 'reset') max = rss;
  if (message === 'stop') { clearInterval(timer); parentPort.close(); }
});
`;

export interface PeakReading {
  /** Peak RSS in bytes since the window started. */
  bytes: number;
  /** The kernel's high-water mark when it could be reset for this window, else undefined. */
  hwmBytes?: number;
  sampledBytes: number;
}

/** VmHWM (peak RSS of this process, or of process `pid`) in bytes, or undefined off Linux. */
export function readVmHwm(pid: number | 'self' = 'self'): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function resetVmHwm(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

export class PeakMemory {
  private hwmWindow = false;

  private constructor(private readonly worker: Worker) {}

  static async start(intervalMs = 10): Promise<PeakMemory> {
    const worker = new Worker(SAMPLER, { eval: true, workerData: { intervalMs } });
    worker.unref();
    const peak = new PeakMemory(worker);
    await peak.ask('read');
    return peak;
  }

  private async ask(message: 'read' | 'reset' | 'stop'): Promise<number> {
    const reply = once(this.worker, 'message');
    this.worker.postMessage(message);
    const [bytes] = (await reply) as [number];
    return bytes;
  }

  /** Start a new window. */
  async reset(): Promise<void> {
    await this.ask('reset');
    this.hwmWindow = resetVmHwm();
  }

  /** The peak since the last reset (or since start). */
  async read(): Promise<PeakReading> {
    const sampledBytes = await this.ask('read');
    const hwmBytes = this.hwmWindow ? readVmHwm() : undefined;
    return { bytes: Math.max(sampledBytes, hwmBytes ?? 0), sampledBytes, ...(hwmBytes !== undefined ? { hwmBytes } : {}) };
  }

  async close(): Promise<void> {
    await this.ask('stop').catch(() => undefined);
    await this.worker.terminate();
  }
}
