/**
 * JSON text parsed with an error a person can act on. V8 reports a syntax error "at position 1234" or,
 * for an unexpected token, with no position at all and a copy of the text; both become
 * "line L, column C: <what is wrong>" (line and column count from 1, the column in characters).
 * Every place that parses JSON a user gave (history, target and config files, model configs, scheduler
 * configs, preset and prompt files) goes through `parseJsonText`, so they all say where the mistake is.
 */
import { PmgError } from '../errors/pmg-error.js';

export class JsonSyntaxError extends Error {
  constructor(
    /** What is wrong, e.g. "expected ',' or '}' after property value". */
    readonly reason: string,
    /** 0-based index into the text (after a leading byte-order mark). */
    readonly offset: number,
    readonly line: number,
    readonly column: number,
    options?: { cause?: unknown },
  ) {
    super(`line ${line}, column ${column}: ${reason}`, options);
    this.name = 'JsonSyntaxError';
  }
}

/** `JSON.parse` (a leading byte-order mark ignored); a syntax error is a JsonSyntaxError with line and column. */
export function parseJsonText(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw jsonSyntaxError(body, error);
  }
}

/**
 * `parseJsonText` for a file or text a user gave: a syntax error is an `invalid-input` PmgError
 * "<source> is not valid JSON: line L, column C: <reason>" with the file, line and column in its details.
 */
export function parseJson(text: string, source: string): unknown {
  try {
    return parseJsonText(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw new PmgError('invalid-input', `${source} is not valid JSON: ${error.message}`, {
      cause: error,
      details: { file: source, line: error.line, column: error.column },
    });
  }
}

/** The JsonSyntaxError for `error`, which JSON.parse threw on `text`. */
export function jsonSyntaxError(text: string, error: SyntaxError): JsonSyntaxError {
  const message = error.message;
  const position = /at position (\d+)/.exec(message);
  const offset = position ? Number(position[1]) : /Unexpected end of JSON input/.test(message) ? text.length : Math.max(0, syntaxErrorOffset(text));
  const { line, column } = lineAndColumn(text, offset);
  return new JsonSyntaxError(reasonOf(message, text, offset), offset, line, column, { cause: error });
}

/** 1-based line and column of `offset` in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines.at(-1)!.length + 1 };
}

function reasonOf(message: string, text: string, offset: number): string {
  if (/^Unexpected token\b/.test(message) || /^Unexpected end of JSON input/.test(message)) return `unexpected ${describeChar(text[offset])}`;
  const reason = message
    .split('\n')[0]!
    .replace(/\s*\(line \d+ column \d+\)\s*$/, '')
    .replace(/ in JSON at position \d+.*$/, '')
    .replace(/ after JSON at position \d+.*$/, ' after the JSON value');
  return reason.charAt(0).toLowerCase() + reason.slice(1);
}

function describeChar(char: string | undefined): string {
  if (char === undefined) return 'end of the text (is it cut short?)';
  if (char === '\n' || char === '\r') return 'line break';
  if (char === ' ') return 'space';
  if (char === '\t') return 'tab';
  return `'${char}'`;
}

/**
 * Offset of the first character where `text` stops being JSON (the length of the text when it ends
 * too early; -1 when it is valid). Used when V8 names no position.
 */
export function syntaxErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw new ScanStop(i);
  };
  const space = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const digits = (): void => {
    if (!isDigit(text[i])) fail();
    while (isDigit(text[i])) i++;
  };
  const string = (): void => {
    i++;
    for (;;) {
      const char = text[i];
      if (char === undefined || char < ' ') fail();
      if (char === '"') {
        i++;
        return;
      }
      if (char === '\\') {
        i++;
        if (text[i] === 'u') {
          i++;
          for (let k = 0; k < 4; k++, i++) if (!/^[0-9a-fA-F]$/.test(text[i] ?? '')) fail();
        } else if (text[i] !== undefined && '"\\/bfnrt'.includes(text[i]!)) i++;
        else fail();
      } else i++;
    }
  };
  const value = (): void => {
    space();
    const char = text[i];
    if (char === '{') {
      i++;
      space();
      if (text[i] === '}') return void i++;
      for (;;) {
        space();
        if (text[i] !== '"') fail();
        string();
        space();
        if (text[i] !== ':') fail();
        i++;
        value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    }
    if (char === '[') {
      i++;
      space();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    }
    if (char === '"') return string();
    if (char === '-' || isDigit(char)) {
      if (char === '-') i++;
      if (text[i] === '0') i++;
      else digits();
      if (text[i] === '.') {
        i++;
        digits();
      }
      if (text[i] === 'e' || text[i] === 'E') {
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        digits();
      }
      return;
    }
    const word = char === 't' ? 'true' : char === 'f' ? 'false' : char === 'n' ? 'null' : undefined;
    if (!word) fail();
    for (const letter of word!) {
      if (text[i] !== letter) fail();
      i++;
    }
  };
  try {
    value();
    space();
    if (i < text.length) fail();
    return -1;
  } catch (stop) {
    // A RangeError from very deep nesting: no position rather than a crash.
    return stop instanceof ScanStop ? stop.offset : -1;
  }
}

class ScanStop {
  constructor(readonly offset: number) {}
}

function isDigit(char: string | undefined): boolean {
  return char !== undefined && char >= '0' && char <= '9';
}
