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

/** What servers get in place of the bare turn marker `###`: the start of the next user turn. */
export const serverTurnStop = '### Human:';

/**
 * The stop strings sent to a server that applies them itself: the caller's, except the bare Vicuna turn marker
 * `###`, which is sent as `### Human:`. A server stops at a stop string even at the very start of the answer,
 * and chat models often open it by echoing `### Assistant:`; with `###` sent, that answer would come back
 * empty. `### Human:` still ends the answer where the model starts the next turn (saving its tokens), while
 * `###` itself is cut on our side (`cutAtStop`), which skips an echoed marker at the start.
 */
export function serverStopStrings(stops: readonly string[]): string[] {
  const sent = stops.filter((s) => !defaultStopStrings.includes(s));
  const turn = stops.some((s) => defaultStopStrings.includes(s)) && !sent.includes(serverTurnStop) ? [serverTurnStop] : [];
  return [...turn, ...sent];
}
