/**
 * What the fake remote generator servers (a1111-server.ts, comfyui-server.ts) share: a deterministic PNG for a
 * seed and a prompt (a colour from their hash, a horizontal ramp so the image is not flat), and the failure modes
 * a test can script, one per generation request (the last one repeats; none left: success).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { encodePng } from '../core/image-io.js';

export type FakeFailure =
  /** Answer with this status and the server's own error text. */
  | { kind: 'status'; status: number; detail: string }
  /** Accept the request and never answer. */
  | { kind: 'hang' }
  /** Drop the connection without answering. */
  | { kind: 'drop' }
  /** Start a 200 answer and drop the connection halfway through its body. */
  | { kind: 'truncate' }
  /** Generate normally. */
  | { kind: 'ok' };

export async function fakeImagePng(seed: number, prompt: string, width: number, height: number): Promise<Buffer> {
  const hash = createHash('sha256').update(`${seed}\n${prompt}`).digest();
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = (hash[c]! + Math.floor((x * 64) / Math.max(1, width - 1))) % 256;
  return encodePng({ width, height, data });
}

export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** Takes the next scripted failure (the last one repeats once the others are used). */
export function nextFailure(script: FakeFailure[]): FakeFailure {
  if (script.length === 0) return { kind: 'ok' };
  return script.length === 1 ? script[0]! : script.shift()!;
}
