/**
 * A small client of the events route (tests, the load driver, the bench): reads a `text/event-stream` response into
 * JobEvents until the server ends it or `until` says stop. `receivedAt` is when each event's frame arrived.
 */
import type { JobEvent } from '../service/job-types.js';

export type ReceivedEvent = JobEvent & { receivedAt: number };

/** Reads an SSE response to its end (or `until` returns true): the events, and the raw text. */
export async function readEvents(response: Response, until?: (event: ReceivedEvent) => boolean): Promise<{ events: ReceivedEvent[]; text: string }> {
  const events: ReceivedEvent[] = [];
  let text = '';
  let buffer = '';
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(
        frame
          .split('\n')
          .filter((line) => !line.startsWith(':') && line.includes(': '))
          .map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)]),
      );
      if (fields.id === undefined) continue;
      const event: ReceivedEvent = {
        id: Number(fields.id),
        type: fields.event as JobEvent['type'],
        at: '',
        data: JSON.parse(fields.data ?? '{}') as Record<string, unknown>,
        receivedAt: performance.now(),
      };
      events.push(event);
      if (until?.(event)) {
        await reader.cancel();
        return { events, text };
      }
    }
  }
  return { events, text };
}
