/**
 * The events of a job as Server-Sent Events: `id: <n>\nevent: <type>\ndata: <json>\n\n`. The stream subscribes to
 * live events first, then replays the stored ones after `Last-Event-ID`, and sends a live event only when its id is
 * above the last one sent, so nothing is lost or repeated between the two. A comment line every `heartbeatMs`
 * keeps proxies from closing an idle stream; the stream ends after done/error/cancelled (or at once for a job that
 * has already ended), and unsubscribes when the client goes away.
 */
import type { JobEvent, JobService, JobState } from '../service/job-types.js';

export const ENDING_EVENTS: readonly string[] = ['done', 'error', 'cancelled'];
const ENDED_STATES: readonly JobState[] = ['done', 'failed', 'cancelled'];

/** One SSE frame. JSON has no raw newlines, so `data` is one line. */
export function sseFrame(event: JobEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/** The id to resume after: the `Last-Event-ID` header, else `?lastEventId=`, else 0 (a non-number counts as 0). */
export function resumeAfter(header: string | undefined, query: string | undefined): number {
  const text = header ?? query;
  const n = text === undefined ? 0 : Number(text.trim());
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

export interface EventStreamOptions {
  heartbeatMs?: number;
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
}

/** The body stream of GET /v1/generations/{id}/events. */
export function jobEventStream(
  service: Pick<JobService, 'events' | 'subscribe' | 'get'>,
  id: string,
  afterId: number,
  options: EventStreamOptions = {},
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let cleanup = (): void => undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      let last = afterId;
      let closed = false;
      const close = (): void => {
        if (closed) return;
        closed = true;
        cleanup();
        try {
          controller.close();
        } catch {
          // already closed by the reader's cancel
        }
      };
      const send = (event: JobEvent): void => {
        if (closed || event.id <= last) return;
        last = event.id;
        controller.enqueue(encoder.encode(sseFrame(event)));
        if (ENDING_EVENTS.includes(event.type)) close();
      };
      const unsubscribe = service.subscribe(id, send);
      const heartbeat = setInterval(() => {
        if (!closed) controller.enqueue(encoder.encode(': heartbeat\n\n'));
      }, options.heartbeatMs ?? 15_000);
      heartbeat.unref?.();
      const onAbort = (): void => close();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      cleanup = () => {
        unsubscribe();
        clearInterval(heartbeat);
        options.signal?.removeEventListener('abort', onAbort);
      };
      controller.enqueue(encoder.encode(': events of ' + id + '\n\n'));
      for (const event of service.events(id, afterId)) send(event);
      // A job that has ended and whose ending event came before `afterId`: nothing more will come.
      const state = service.get(id)?.state;
      if (state !== undefined && ENDED_STATES.includes(state)) close();
      if (options.signal?.aborted) close();
    },
    cancel() {
      cleanup();
    },
  });
}
