/**
 * Stop strings shared by every LLM provider, so both cut the same way.
 *
 * The PMG prompts use Vicuna-style turns (`### Human:` / `### Assistant:`); a model that has finished
 * its answer tends to start the next turn with `###`. That is therefore a default stop string for
 * plain-text generation (not for JSON-schema generation, where the caller's stops alone apply).
 */

/** Default stop strings for the Vicuna-format PMG prompts. */
export const defaultStopStrings: readonly string[] = ['###'];

/** The stop strings to use: the caller's plus the defaults (unless JSON-schema mode), without empties/duplicates. */
export function effectiveStopStrings(stop: readonly string[] | undefined, jsonMode: boolean): string[] {
  const all = [...(stop ?? []), ...(jsonMode ? [] : defaultStopStrings)];
  return [...new Set(all.filter((s) => s.length > 0))];
}

/**
 * Cut `text` at the earliest occurrence of any stop string that comes after the answer has begun.
 * An occurrence with only whitespace before it does not count: chat models often open their answer by
 * echoing the turn marker (`### Assistant: The keywords are: 1. ...`), which starts the answer, not ends it.
 */
export function cutAtStop(text: string, stops: readonly string[]): { text: string; stopped: boolean } {
  let cut = -1;
  for (const stop of stops) {
    let at = text.indexOf(stop);
    while (at >= 0 && text.slice(0, at).trim() === '') at = text.indexOf(stop, at + stop.length);
    if (at >= 0 && (cut < 0 || at < cut)) cut = at;
  }
  return cut < 0 ? { text, stopped: false } : { text: text.slice(0, cut), stopped: true };
}

/**
 * The stop strings worth sending to a server that applies them itself. The Vicuna turn marker is left out:
 * a server stops at it even when the model opens its answer with it, which would return an empty answer;
 * it is cut on our side instead (`cutAtStop`).
 */
export function serverStopStrings(stops: readonly string[]): string[] {
  return stops.filter((s) => !defaultStopStrings.includes(s));
}
